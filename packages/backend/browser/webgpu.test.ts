// @relkd/backend in a real browser with @tensorflow/tfjs-backend-webgpu bundled (Vitest browser
// mode, headless Chromium). Chromium exposes `navigator.gpu`, so tfjs-backend-webgpu registers its
// backend, but the test browser runs with --disable-gpu and `requestAdapter()` resolves null: the
// WebGPU backend cannot start. This checks how useBackend reports and survives that.
import { isRelkdError, type RelkdError } from '@relkd/core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import {
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import { BROWSER_WASM_PATHS } from '../../../tools/testing/browser';
import { describeBackend, useBackend } from '../src/index';

const wasmOptions = {
  modules: { '@tensorflow/tfjs-backend-wasm': wasmBackend },
  wasmPaths: BROWSER_WASM_PATHS,
};

type GpuNavigator = Navigator & { gpu?: { requestAdapter: () => Promise<unknown> } };

describe('@relkd/backend in the browser, WebGPU bundled but no adapter', () => {
  let adapter: unknown;
  let warn: MockInstance<typeof console.warn>;
  beforeAll(async () => {
    const gpu = (navigator as GpuNavigator).gpu;
    adapter = gpu === undefined ? null : await gpu.requestAdapter();
  });
  // tfjs logs "Initialization of backend webgpu failed" and the stack with console.warn
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    warn.mockRestore();
  });

  it('the environment: navigator.gpu exists, tfjs registered webgpu, no adapter', () => {
    expect((navigator as GpuNavigator).gpu).toBeDefined();
    expect(tf.findBackendFactory('webgpu')).toBeTypeOf('function');
    expect(adapter).toBeNull();
  });

  it("'webgpu' throws BACKEND_UNAVAILABLE (initialisation returned false) and keeps the previous backend", async () => {
    await useBackend('cpu');
    let error: unknown;
    try {
      await useBackend('webgpu');
    } catch (e) {
      error = e;
    }
    expect(isRelkdError(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    const e = error as RelkdError;
    expect(e.message).toContain(
      "useBackend('webgpu'): the backend is unavailable in this browser.",
    );
    expect(e.message).toContain('webgpu (@tensorflow/tfjs-backend-webgpu): ');
    expect(e.message).toContain(
      "initialisation returned false: tf.setBackend('webgpu') resolved false",
    );
    expect(e.message).toContain('no adapter was found');
    expect(e.message).toContain("useBackend('auto')");
    expect(e.details).toMatchObject({
      requested: 'webgpu',
      package: '@tensorflow/tfjs-backend-webgpu',
    });
    expect(e.details.reason).toBe('init-false');
    expect(warn).toHaveBeenCalledWith('Initialization of backend webgpu failed');
    expect(tf.getBackend()).toBe('cpu');
    // tfjs still computes on the previous backend
    expect(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1)).dataSync())).toEqual([2, 3]);
  });

  it("'auto' skips WebGPU (with the reason) and picks WebGL", async () => {
    const info = await useBackend('auto', wasmOptions);
    expect(info).toMatchObject({ name: 'webgl', device: 'gpu', gradients: true });
    expect(tf.getBackend()).toBe('webgl');
    expect(info.tried).toHaveLength(1);
    expect(info.tried[0]).toMatch(/^webgpu \(@tensorflow\/tfjs-backend-webgpu\): /);
    expect(info.tried[0]).toContain('no adapter was found');
    expect(describeBackend()).toContain('skipped: webgpu');
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]))
          .dataSync(),
      ),
    );
    expect(g).toEqual([2, -4, 6]);
  });

  it("'gpu' falls back from WebGPU to WebGL", async () => {
    await useBackend('cpu');
    const info = await useBackend('gpu');
    expect(info.name).toBe('webgl');
    expect(info.tried.map((t) => t.split(' ')[0])).toEqual(['webgpu']);
    expect(tf.getBackend()).toBe('webgl');
  });
});
