import { isRelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { expectClose } from '../../../tools/testing/assertions';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { BROWSER_WASM_PATHS } from '../../../tools/testing/browser';
import { describeBackend, useBackend } from '../src/index';

// In the browser: the application imports the backends it offers (bundlers cannot resolve
// @relkd/backend's optional dynamic imports) and hands the WASM module + binary URLs over.
const wasmOptions = {
  modules: { '@tensorflow/tfjs-backend-wasm': wasmBackend },
  wasmPaths: BROWSER_WASM_PATHS,
};

/** A small training-style gradient through conv2d, depthwiseConv2d and gather. */
function grads(): number[][] {
  return tf.tidy(() => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i)),
      [2, 6, 6, 3],
    );
    const w = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
      [3, 3, 3, 4],
    );
    const d = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(3 * i)),
      [3, 3, 3, 2],
    );
    const table = tf.tensor2d(
      Array.from({ length: 6 * 3 }, (_, i) => i / 10),
      [6, 3],
    );
    const ids = tf.tensor1d([5, 0, 5, 2], 'int32');
    const gw = tf.grad((k) => tf.sum(tf.square(tf.conv2d(x, k as tf.Tensor4D, 2, 'same'))))(w);
    const [gx, gd] = tf.grads((a, b) =>
      tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))),
    )([x, d]);
    const gt = tf.grad((t) => tf.sum(tf.square(tf.gather(t, ids))))(table);
    return [gw, gx as tf.Tensor, gd as tf.Tensor, gt].map((g) => Array.from(g.dataSync()));
  });
}

describe('@relkd/backend in the browser', () => {
  it("'cpu' and 'wasm' (binaries from wasmPaths) work and their gradients agree", async () => {
    const cpuInfo = await useBackend('cpu');
    expect(cpuInfo).toMatchObject({ name: 'cpu', device: 'cpu', gradients: true });
    const cpu = grads();
    const info = await useBackend('wasm', wasmOptions);
    expect(info).toMatchObject({ name: 'wasm', device: 'cpu', float32: true, gradients: true });
    expect(typeof info.simd).toBe('boolean');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(describeBackend()).toContain('wasm');
    const wasm = grads();
    for (let i = 0; i < cpu.length; i++)
      expectClose(wasm[i] ?? [], cpu[i] ?? [], { rtol: 1e-5, atol: 1e-5 });
  });

  it("'webgl' (SwiftShader) selects a GPU device and computes gradients", async () => {
    const info = await useBackend('webgl');
    expect(info).toMatchObject({ name: 'webgl', device: 'gpu', gradients: true });
    const g = tf.grad((x) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, -2, 3]));
    expectClose(g, [2, -4, 6], { rtol: 1e-3 });
  });

  it("'auto' picks the first GPU backend that works and explains what it skipped", async () => {
    const info = await useBackend('auto', wasmOptions);
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(info.name);
    if (info.name !== 'webgpu') {
      expect(info.tried[0]).toMatch(/^webgpu \(@tensorflow\/tfjs-backend-webgpu\): /);
    }
  });

  it("'webgpu' without the package imported in the bundle: BACKEND_UNAVAILABLE naming it", async () => {
    let error: unknown;
    try {
      await useBackend('webgpu');
    } catch (e) {
      error = e;
    }
    expect(isRelkdError(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('@tensorflow/tfjs-backend-webgpu');
    await useBackend('cpu');
  });
});
