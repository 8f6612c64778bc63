// @relkd/backend in a real browser (Vitest browser mode, headless Chromium: `npm run test:browser`).
// The application imports the backends it offers (bundlers cannot resolve @relkd/backend's optional
// dynamic imports) and hands the WASM module + binary URLs over. This file does NOT import
// @tensorflow/tfjs-backend-webgpu (the "package not bundled" case); webgpu.test.ts does.
import { isRelkdError, kdLoss, RelkdError } from '@relkd/core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BROWSER_BACKENDS, BROWSER_WASM_PATHS, expectClose } from '../../../tools/testing/browser';
import { describeBackend, getBackendInfo, useBackend } from '../src/index';
import { WASM_GRADIENT_KERNELS } from '../src/wasm/registerWasmGradientKernels';

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

const GRAD_NAMES = ['conv2d filter', 'depthwise input', 'depthwise filter', 'gather table'];

/** kdLoss and its student gradient on fixed logits (a loss from @relkd/core through tf.grad). */
function kdAndGrad(): { value: number; grad: number[] } {
  return tf.tidy(() => {
    const s = tf.tensor2d([
      [1, -2, 0.5, 3],
      [0.2, 0.1, -1, 2],
    ]);
    const t = tf.tensor2d([
      [2, -1, 0, 1],
      [-0.5, 0.3, 1, 1.5],
    ]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => kdLoss(x, t, { temperature: 2 }))(s);
    return { value: value.dataSync()[0]!, grad: Array.from(grad.dataSync()) };
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

describe('@relkd/backend in the browser', () => {
  it("'cpu', 'wasm' (binaries from wasmPaths) and 'webgl' each return their info and activate", async () => {
    const cpu = await useBackend('cpu');
    expect(cpu).toEqual({ name: 'cpu', device: 'cpu', float32: true, gradients: true, tried: [] });
    expect(tf.getBackend()).toBe('cpu');

    const wasm = await useBackend('wasm', wasmOptions);
    expect(wasm).toMatchObject({ name: 'wasm', device: 'cpu', float32: true, gradients: true });
    expect(wasm.tried).toEqual([]);
    expect(typeof wasm.simd).toBe('boolean');
    // this page is not cross-origin isolated (no COOP/COEP): no SharedArrayBuffer, one thread
    expect(globalThis.crossOriginIsolated).toBe(false);
    expect(wasm.threads).toBe(1);
    expect(tf.getBackend()).toBe('wasm');
    expect(describeBackend()).toMatch(/^wasm \(cpu, (no )?SIMD, 1 thread/);

    const webgl = await useBackend('webgl');
    expect(webgl).toMatchObject({ name: 'webgl', device: 'gpu', gradients: true, tried: [] });
    expect(tf.getBackend()).toBe('webgl');
    expect(getBackendInfo()).toEqual(webgl);
    expect(describeBackend()).toMatch(/^webgl \(gpu, /);
  });

  // tfjs-backend-webgl 4.22's floatPrecision() returns 16 whenever WEBGL_RENDER_FLOAT32_ENABLED is
  // true (tensorflow/tfjs#6980); useBackend reads WEBGL_RENDER_FLOAT32_ENABLED instead, so this
  // float32 SwiftShader context must report float32.
  it("'webgl' reports float32 when the textures are float32 (tfjs#6980)", async () => {
    const webgl = await useBackend('webgl');
    expect(tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')).toBe(true);
    expect(webgl.float32).toBe(true);
  });

  it("'cpu', 'wasm' and 'webgl': gradients of conv2d (filter), depthwiseConv2d and gather agree with cpu", async () => {
    await useBackend('cpu');
    const cpu = grads();
    await useBackend('wasm', wasmOptions);
    // the filled kernels are the wasm gradient kernels @relkd/backend registered
    for (const name of Object.keys(WASM_GRADIENT_KERNELS))
      expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    const wasm = grads();
    await useBackend('webgl');
    const webgl = grads();
    GRAD_NAMES.forEach((name, i) => {
      expect(cpu[i]!.some((v) => v !== 0)).toBe(true);
      expectClose(wasm[i]!, cpu[i]!, { rtol: 1e-5, atol: 1e-5, label: `wasm ${name}` });
      expectClose(webgl[i]!, cpu[i]!, { rtol: 1e-5, atol: 1e-5, label: `webgl ${name}` });
    });
  });

  it.each(
    BROWSER_BACKENDS,
  )('%s: tf.grad of a @relkd/core loss works after useBackend', async (b) => {
    await useBackend('cpu');
    const ref = kdAndGrad();
    await useBackend(b, wasmOptions);
    expect(tf.getBackend()).toBe(b);
    const before = tf.memory().numTensors;
    const got = kdAndGrad();
    expect(tf.memory().numTensors, 'no leak').toBe(before);
    expect(ref.value).toBeGreaterThan(0);
    expectClose(got.value, ref.value, { label: `${b} kdLoss` });
    expectClose(got.grad, ref.grad, { rtol: 1e-4, atol: 1e-6, label: `${b} d kdLoss / ds` });
  });

  it("'auto' tries WebGPU first, then picks WebGL and says why it skipped WebGPU", async () => {
    const info = await useBackend('auto', wasmOptions);
    expect(info.name).toBe('webgl');
    expect(info.device).toBe('gpu');
    expect(tf.getBackend()).toBe('webgl');
    expect(info.tried).toHaveLength(1);
    expect(info.tried[0]).toMatch(/^webgpu \(@tensorflow\/tfjs-backend-webgpu\): module missing: /);
    expect(info.tried[0]).toContain("import '@tensorflow/tfjs-backend-webgpu'");
    expect(describeBackend()).toContain('skipped: webgpu (@tensorflow/tfjs-backend-webgpu)');
  });

  it("'gpu' in the browser means WebGPU, then WebGL", async () => {
    await useBackend('cpu');
    const info = await useBackend('gpu');
    expect(info).toMatchObject({ name: 'webgl', device: 'gpu' });
    expect(tf.getBackend()).toBe('webgl');
    expect(info.tried.map((t) => t.split(' ')[0])).toEqual(['webgpu']);
  });

  it("'webgpu' without the package in the bundle: BACKEND_UNAVAILABLE naming it; the previous backend stays", async () => {
    await useBackend('cpu');
    const error = await rejection(useBackend('webgpu'));
    expect(error).toBeInstanceOf(RelkdError);
    expect(isRelkdError(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    const e = error as RelkdError;
    expect(e.message).toContain(
      "useBackend('webgpu'): the backend is unavailable in this browser.",
    );
    expect(e.message).toContain('module missing');
    expect(e.message).toContain("import '@tensorflow/tfjs-backend-webgpu'");
    expect(e.message).toContain("useBackend('auto')");
    expect(e.details).toMatchObject({
      requested: 'webgpu',
      package: '@tensorflow/tfjs-backend-webgpu',
      reason: 'module-missing',
    });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('Node-only requests and bad options fail clearly in the browser', async () => {
    const bad = await rejection(useBackend('tensorflow' as never));
    expect(isRelkdError(bad, 'INVALID_OPTION')).toBe(true);
    const threads = await rejection(useBackend('wasm', { ...wasmOptions, wasmThreads: 0 }));
    expect(isRelkdError(threads, 'INVALID_OPTION')).toBe(true);
  });
});
