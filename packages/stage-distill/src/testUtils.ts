// Test-only helpers of @relkd/stage-distill (not exported from the package).
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

type Nested = number | Nested[];

/** Tensor from a nested JSON list (float32). */
export function T(x: unknown): tf.Tensor {
  return tf.tensor(x as Nested[]);
}

/** Asserts autodiff and central differences agree along `v`: |fd − ad| <= rtol·|ad| + atol. */
export function expectDirectional(fd: number, ad: number, rtol = 2e-2, atol = 2e-3): void {
  expect(Number.isFinite(fd) && Number.isFinite(ad)).toBe(true);
  expect(Math.abs(fd - ad), `fd ${fd} vs autodiff ${ad}`).toBeLessThanOrEqual(
    rtol * Math.abs(ad) + atol,
  );
}

/** Directional derivative of `loss()` over a set of variables by central differences. */
export function fdVariables(
  loss: () => tf.Scalar,
  vars: readonly tf.Variable[],
  dirs: readonly tf.Tensor[],
  eps = 1e-2,
): number {
  const orig = vars.map((v) => v.clone());
  const at = (sign: number): number => {
    vars.forEach((v, i) => {
      v.assign(tf.tidy(() => tf.add(orig[i]!, tf.mul(dirs[i]!, sign * eps))));
    });
    return tf.tidy(() => loss().dataSync()[0]!);
  };
  const plus = at(1);
  const minus = at(-1);
  vars.forEach((v, i) => {
    v.assign(orig[i]!);
  });
  tf.dispose(orig);
  return (plus - minus) / (2 * eps);
}

/** `Σ_i <g_i, v_i>` read back as a number. */
export function dot(gs: readonly tf.Tensor[], vs: readonly tf.Tensor[]): number {
  return tf.tidy(() => tf.addN(gs.map((g, i) => tf.sum(tf.mul(g, vs[i]!)))).dataSync()[0]!);
}

/** Permutes the H×W positions of an NHWC tensor with a fixed permutation (reverse order). */
export function permuteSpatial(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const flat = tf.reshape(x, [b, h * w, c]);
    const idx = tf.tensor1d(
      Array.from({ length: h * w }, (_, i) => (i * 7 + 3) % (h * w)),
      'int32',
    );
    return tf.reshape(tf.gather(flat, idx, 1), [b, w, h, c]) as tf.Tensor4D;
  });
}

/** Repeats every pixel `r×r` times (nearest upsampling): GAP is unchanged. */
export function upsample(x: tf.Tensor4D, r: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const e = tf.tile(tf.reshape(x, [b, h, 1, w, 1, c]), [1, 1, r, 1, r, 1]);
    return tf.reshape(e, [b, h * r, w * r, c]) as tf.Tensor4D;
  });
}
