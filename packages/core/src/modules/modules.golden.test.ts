// Module goldens (packages/core/test/moduleGoldens.ts) with plain tfjs: no @relkd/backend.

import { BACKENDS, missingConvGradientKernels, usePlainBackend } from '@relkd/testing/plain';
import { beforeAll, describe, expect } from 'vitest';
import { itWhere, moduleGoldenCases } from '../../test/moduleGoldens';

describe.each(BACKENDS)('modules vs the float64 reference on plain %s', (backend) => {
  beforeAll(async () => {
    await usePlainBackend(backend);
  });

  const missing = missingConvGradientKernels(backend);
  // Plain tfjs-backend-wasm 4.22 cannot differentiate convolutions; @relkd/backend fills the gap
  // and tools/integration/coreOnBackend.test.ts runs these gradient goldens on wasm through it.
  itWhere(missing.length > 0)('conv-family gradients need kernels plain tfjs lacks here', () => {
    expect(backend).toBe('wasm');
    expect(missing).toContain('Conv2DBackpropFilter');
  });
  moduleGoldenCases({ convGradients: missing.length === 0 });
});
