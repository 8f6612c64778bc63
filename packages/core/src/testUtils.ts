// Test-only helpers of @relkd/core (not exported from the package entry, not bundled).

import { expectRelkdError } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { RelkdErrorCode } from './errors/RelkdError';

/**
 * Asserts `fn` throws a RelkdError with `code`, leaks no tensor, and dispatches no kernel
 * before throwing (measured with `tf.profile`).
 */
export async function expectEarlyError(fn: () => unknown, code: RelkdErrorCode): Promise<void> {
  expectRelkdError(fn, code);
  const info = await tf.profile(() => {
    try {
      tf.dispose(fn() as tf.TensorContainer);
    } catch {
      // expected
    }
    return [];
  });
  expect(
    info.kernels.map((k) => k.name),
    'kernels dispatched before the error',
  ).toEqual([]);
}

/** `sum(grad · v)` of a scalar function at `x`, from autodiff. */
export function gradDot(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, v: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.mul(tf.grad(f)(x), v)).dataSync()[0]!);
}

/** Every entry of `t` is finite. */
export function allFinite(t: tf.Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

/** A seeded `[rows, cols]` float32 tensor of N(0, scale²) entries (Box–Muller over a LCG). */
export function seededNormal(shape: number[], seed: number, scale = 1): tf.Tensor {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()) * scale;
  }
  return tf.tensor(out, shape, 'float32');
}

/**
 * Runs `fn`, disposes what it returns and asserts the live tensor count is unchanged. Unlike
 * `expectNoLeak` from @relkd/testing it does not swallow an exception: a call that throws fails.
 */
export function expectNoLeakStrict(fn: () => unknown): void {
  const before = tf.memory().numTensors;
  tf.dispose(fn() as tf.TensorContainer);
  expect(tf.memory().numTensors, 'live tensors after the call').toBe(before);
}
