// @relkd/backend with WebGPU in headless Chromium on SwiftShader (the `chromium-webgpu` browser
// instance: --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader). The adapter is a software
// (fallback) one: 'gpu' and 'auto' must not take it, 'webgpu' only with allowSoftwareAdapter,
// and then a loss and its gradient run on WebGPU with cpu's values.
import { isRelkdError, kdLoss, type RelkdError } from '@relkd/core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { expectClose } from '../../../tools/testing/browser';
import { useBackend } from '../src/index';

async function rejection(p: Promise<unknown>): Promise<RelkdError> {
  try {
    await p;
  } catch (e) {
    if (isRelkdError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** kdLoss and its student gradient, read asynchronously (works on every backend). */
async function kdAndGrad(): Promise<number[]> {
  const [value, grad] = tf.tidy(() => {
    const s = tf.tensor2d([
      [1, -2, 0.5, 3],
      [0.2, 0.1, -1, 2],
    ]);
    const t = tf.tensor2d([
      [2, -1, 0, 1],
      [-0.5, 0.3, 1, 1.5],
    ]);
    const r = tf.valueAndGrad((x: tf.Tensor) => kdLoss(x, t, { temperature: 2 }))(s);
    return [r.value, r.grad];
  });
  const out = [...(await value.data()), ...(await grad.data())];
  tf.dispose([value, grad]);
  return out;
}

describe('@relkd/backend in headless Chromium with WebGPU on SwiftShader', () => {
  let warn: MockInstance<typeof console.warn>;
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    warn.mockRestore();
  });

  it('the environment: a software (fallback) SwiftShader adapter', async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter: () => Promise<unknown> } }).gpu;
    const adapter = (await gpu?.requestAdapter()) as
      | { info?: { architecture?: string; isFallbackAdapter?: boolean } }
      | null
      | undefined;
    expect(adapter?.info?.architecture).toBe('swiftshader');
  });

  it("'gpu' never selects the software adapter: WebGPU is skipped with the reason, WebGL is used", async () => {
    await useBackend('cpu');
    const info = await useBackend('gpu');
    expect(info.name).toBe('webgl');
    expect(info.tried[0]).toContain('software adapter');
    const auto = await useBackend('auto');
    expect(auto.name).not.toBe('webgpu');
    expect(auto.tried[0]).toContain('software adapter');
  });

  it("'webgpu' refuses it without allowSoftwareAdapter and keeps the previous backend", async () => {
    await useBackend('cpu');
    const e = await rejection(useBackend('webgpu'));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.details).toMatchObject({ reason: 'software-adapter' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'webgpu' with allowSoftwareAdapter: runs kdLoss and its gradient with cpu's values", async () => {
    await useBackend('cpu');
    const expected = await kdAndGrad();
    const info = await useBackend('webgpu', { allowSoftwareAdapter: true });
    expect(info).toMatchObject({ name: 'webgpu', device: 'gpu', float32: true });
    expect(info.adapter).toMatchObject({
      vendor: 'google',
      architecture: 'swiftshader',
      software: true,
    });
    const before = tf.memory().numTensors;
    expectClose(await kdAndGrad(), expected, { rtol: 1e-5, atol: 1e-6 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
