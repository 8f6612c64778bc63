import { RelkdError, type RelkdErrorCode } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

type Nested = number | Nested[];

function flatten(x: tf.Tensor | Nested | ArrayLike<number>): number[] {
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  if (typeof x === 'number') return [x];
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') out.push(v);
    else for (const item of Array.from(v as ArrayLike<unknown>)) walk(item);
  };
  walk(x);
  return out;
}

/**
 * Asserts `|actual − expected| <= atol + rtol·|expected|` element-wise (and equal sizes).
 * Defaults: `rtol = 1e-5`, `atol = 1e-6` (float32 tolerances of ARCHITECTURE.md).
 */
export function expectClose(
  actual: tf.Tensor | Nested | ArrayLike<number>,
  expected: tf.Tensor | Nested | ArrayLike<number>,
  {
    rtol = 1e-5,
    atol = 1e-6,
    label = 'value',
  }: { rtol?: number; atol?: number; label?: string } = {},
): void {
  const a = flatten(actual);
  const e = flatten(expected);
  expect(a.length, `${label}: size`).toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i]!;
    const ei = e[i]!;
    const excess = Math.abs(ai - ei) - (atol + rtol * Math.abs(ei));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} differs: actual ${a[worst]}, expected ${e[worst]} ` +
        `(|diff| = ${Math.abs(a[worst]! - e[worst]!)}, rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Runs `fn` and asserts it left the number of live tensors unchanged (also when it throws). */
export function expectNoLeak(fn: () => unknown): void {
  const before = tf.memory().numTensors;
  try {
    const out = fn();
    tf.dispose(out as tf.TensorContainer);
  } catch {
    // the caller asserts on errors separately; here only the tensor count matters
  }
  expect(tf.memory().numTensors, 'live tensors after the call').toBe(before);
}

/** Asserts `fn` throws a `RelkdError` with `code` and leaks no tensor. Returns the error. */
export function expectRelkdError(fn: () => unknown, code: RelkdErrorCode): RelkdError {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    tf.dispose(fn() as tf.TensorContainer);
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a RelkdError').toBeInstanceOf(RelkdError);
  expect((caught as RelkdError).code).toBe(code);
  expect(tf.memory().numTensors, 'live tensors after the failing call').toBe(before);
  return caught as RelkdError;
}

/**
 * Central-difference directional derivative of a scalar function in float32:
 * `(f(x + εv) − f(x − εv)) / 2ε`. Compare it with `sum(grad · v)` from autodiff using a
 * tolerance suited to float32 (about 1e-2 relative for ε around 1e-2..1e-3).
 */
export function fdDirectional(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  v: tf.Tensor,
  eps = 1e-2,
): number {
  return tf.tidy(() => {
    const plus = f(tf.add(x, tf.mul(v, eps))).dataSync()[0]!;
    const minus = f(tf.sub(x, tf.mul(v, eps))).dataSync()[0]!;
    return (plus - minus) / (2 * eps);
  });
}
