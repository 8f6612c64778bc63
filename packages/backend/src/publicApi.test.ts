// The semver-public API of @relkd/backend: the exact runtime exports of the main entry and of
// `@relkd/backend/gradients`, and the public signatures (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests).

import { describe, expect, expectTypeOf, it } from 'vitest';
import * as gradients from './gradients';
import type {
  BackendInfo,
  BackendName,
  ModuleLoader,
  SelectedBackendName,
  UseBackendOptions,
} from './index';
import * as backend from './index';

describe('@relkd/backend public surface', () => {
  it('the main entry exports exactly the semver-public API (no kernel tables)', () => {
    expect(Object.keys(backend).sort()).toEqual(
      [
        'BACKEND_NAMES',
        'describeBackend',
        'getBackendInfo',
        'registerFusedKernels',
        'registerGradients',
        'registerWasmGradientKernels',
        'useBackend',
      ].sort(),
    );
  });

  it('the gradients entry exports its registrations and fixWasmOneHot', () => {
    expect(Object.keys(gradients).sort()).toEqual(
      [
        'fixWasmOneHot',
        'registerFusedKernels',
        'registerGradients',
        'registerWasmGradientKernels',
      ].sort(),
    );
  });

  it('public signatures', () => {
    expectTypeOf(backend.useBackend).parameters.toEqualTypeOf<[BackendName?, UseBackendOptions?]>();
    expectTypeOf(backend.useBackend).returns.toEqualTypeOf<Promise<BackendInfo>>();
    expectTypeOf<BackendName>().toEqualTypeOf<
      'auto' | 'gpu' | 'wasm' | 'cpu' | 'webgl' | 'webgpu'
    >();
    expectTypeOf<SelectedBackendName>().toEqualTypeOf<
      'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu'
    >();
    expectTypeOf(backend.BACKEND_NAMES).toEqualTypeOf<readonly BackendName[]>();
    expectTypeOf<BackendInfo['name']>().toEqualTypeOf<SelectedBackendName>();
    expectTypeOf<BackendInfo['device']>().toEqualTypeOf<'gpu' | 'cpu'>();
    expectTypeOf<BackendInfo['gradients']>().toEqualTypeOf<true>();
    expectTypeOf<BackendInfo['tried']>().toEqualTypeOf<string[]>();
    expectTypeOf<UseBackendOptions['wasmPaths']>().toEqualTypeOf<
      string | Record<string, string> | undefined
    >();
    expectTypeOf<UseBackendOptions['importModule']>().toEqualTypeOf<ModuleLoader | undefined>();
    expectTypeOf<ModuleLoader>().toEqualTypeOf<(specifier: string) => Promise<unknown>>();
    expectTypeOf(backend.describeBackend).parameters.toEqualTypeOf<[BackendInfo?]>();
    expectTypeOf(backend.describeBackend).returns.toEqualTypeOf<string>();
    expectTypeOf(backend.getBackendInfo).returns.toEqualTypeOf<BackendInfo | undefined>();
    expectTypeOf(backend.registerGradients).toEqualTypeOf<() => number>();
    expectTypeOf(backend.registerFusedKernels).toEqualTypeOf<() => number>();
    expectTypeOf(backend.registerWasmGradientKernels).parameters.toEqualTypeOf<
      [{ faster?: boolean }?]
    >();
    expectTypeOf(backend.registerWasmGradientKernels).returns.toEqualTypeOf<string[]>();
    expectTypeOf(gradients.fixWasmOneHot).toEqualTypeOf<() => boolean>();
  });
});
