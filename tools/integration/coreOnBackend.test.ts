// @relkd/core on @relkd/backend: the goldens of core's losses and modules, run after `useBackend`
// (fused loss kernels registered, WASM conv gradient kernels filled). Core's own tests run the
// same goldens with plain tfjs (composed ops, no @relkd/backend), so both paths meet one fixture.

import { crossEntropy, kdLoss } from '@relkd/core';
import { FUSED_SOFT_CE, FUSED_SOFTMAX_KL } from '@relkd/core/internal';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { lossGoldenCases } from '../../packages/core/test/lossGoldens';
import { moduleGoldenCases } from '../../packages/core/test/moduleGoldens';

describe.each(BACKENDS)('core on @relkd/backend (%s)', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('the losses run as the fused kernels useBackend registered', async () => {
    const s = tf.tensor2d([
      [1, 2, 3],
      [0, -1, 1],
    ]);
    const t = tf.tensor2d([
      [0, 1, 0],
      [2, 0, 1],
    ]);
    const y = tf.tensor1d([2, 0], 'int32');
    const kernels = async (f: (x: tf.Tensor) => tf.Scalar) =>
      (await tf.profile(() => tf.tidy(() => tf.grad(f)(s)))).kernels.map((k) => k.name);
    expect(await kernels((x) => kdLoss(x, t))).toContain(FUSED_SOFTMAX_KL);
    expect(await kernels((x) => crossEntropy(x, y))).toContain(FUSED_SOFT_CE);
    tf.dispose([s, t, y]);
  });

  describe('loss goldens, fused kernels', () => {
    lossGoldenCases();
  });

  describe('module goldens, with the conv gradient kernels @relkd/backend provides', () => {
    moduleGoldenCases({ convGradients: true });
  });
});
