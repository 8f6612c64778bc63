// Test-only helpers of @relkd/core (not exported from the package entry, not bundled).

import { expectRelkdError } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { RelkdErrorCode } from './errors/RelkdError';
import { Rng } from './random/Rng';

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

/** A seeded float32 tensor of N(0, scale²) entries, from core's `Rng` (the one generator). */
export function seededNormal(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal() * scale),
    shape,
    'float32',
  );
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
