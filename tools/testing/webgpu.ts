import { type BackendInfo, useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * Tolerances of the `webgpu` project (Dawn, float32): the repository's float32 tolerances
 * (values rtol 1e-5, gradients rtol 1e-3), kept on purpose. The GPU differs from the cpu backend
 * in two float32 ways: WGSL only bounds `exp` to (3 + 2|x|) ULP and `log` to 3 ULP (absolute
 * 2^-21 on [0.5, 2]) where the cpu backend rounds JS's float64 `Math.exp`/`Math.log` once, and
 * tfjs-backend-webgpu sums in workgroup-parallel trees (a different order, with an error bound no
 * worse than the cpu backend's sequential sums). For the arguments in our fixtures (|x| <= ~20
 * after the temperature) that bound is <= 43 ULP ≈ 2.6e-6 relative, inside rtol 1e-5. Measured
 * on SwiftShader (Dawn's Vulkan, CPU): worst value error 3.1e-6 relative against the float64
 * fixtures, worst gradient 2.6e-5 (golden cases of core); worst kernel-vs-cpu difference 6.8e-7
 * beyond atol. A failure here is a bug to find, not a tolerance to loosen.
 */
export const WEBGPU_VALUE_TOL = { rtol: 1e-5, atol: 1e-6 } as const;
/** See {@link WEBGPU_VALUE_TOL}. */
export const WEBGPU_GRAD_TOL = { rtol: 1e-3, atol: 1e-6 } as const;

/**
 * Selects Dawn WebGPU on the software adapter (SwiftShader in CI) and checks it took. Use in
 * `beforeAll` of a `webgpu` project test.
 */
export async function useWebGpuTestBackend(): Promise<BackendInfo> {
  const info = await useBackend('webgpu', { allowSoftwareAdapter: true });
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`backend webgpu did not activate (got ${tf.getBackend()})`);
  return info;
}

/**
 * The values of `x`, read asynchronously (`dataSync()` throws on Dawn in Node: tfjs-backend-webgpu
 * reads synchronously through an `OffscreenCanvas`, which Node lacks). Disposes nothing.
 */
export async function read(x: tf.Tensor): Promise<number[]> {
  return Array.from(await x.data());
}

/**
 * Runs `fn` on `backend` inside `tf.tidy`, reads its outputs asynchronously, disposes them and
 * switches back to the backend that was active. For comparing a webgpu result with cpu's.
 */
export async function runOn(
  backend: string,
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<number[][]> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = await Promise.all(list.map(read));
    tf.dispose(list);
    return values;
  } finally {
    await tf.setBackend(previous);
  }
}

/**
 * Runs `fn` (which may await reads) and asserts it left the number of live tensors unchanged.
 * The async counterpart of `expectNoLeak` for backends that cannot read synchronously.
 */
export async function expectNoLeakAsync(fn: () => Promise<unknown> | unknown): Promise<void> {
  const before = tf.memory().numTensors;
  const out = await fn();
  tf.dispose(out as tf.TensorContainer);
  expect(tf.memory().numTensors, 'live tensors after the call').toBe(before);
}
