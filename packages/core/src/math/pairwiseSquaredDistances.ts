import * as tf from '@tensorflow/tfjs-core';
import type { TensorInput } from '../validation/validation';
import { toRowPair } from './rowPair';
import { stopGradient } from './stopGradient';

/**
 * Squared Euclidean distances between the rows of `a [N, D]` and `b [M, D]` (default `b = a`):
 * `‖a_n‖² + ‖b_m‖² − 2 a_n·b_m`, computed after subtracting the column mean of `a` from both
 * (distances are translation invariant; centring removes the float32 cancellation of the
 * expansion for features far from the origin) and clamped at 0 against rounding. With `b`
 * omitted the diagonal is exactly 0. Result `[N, M]`. Memory `O(N·M)`, not `O(N·M·D)`.
 *
 * @throws RelkdError `RANK_MISMATCH`, `SHAPE_MISMATCH` (different row widths), `DTYPE_MISMATCH`
 * @example
 * ```ts
 * pairwiseSquaredDistances(tf.tensor2d([[0, 0], [3, 4]])); // [[0, 25], [25, 0]]
 * ```
 */
export function pairwiseSquaredDistances(
  a: tf.Tensor2D | TensorInput,
  b?: tf.Tensor2D | TensorInput,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [ta, tb] = toRowPair(a, b);
    const self = tb === ta;
    // A constant shift (no gradient path needed: the distances do not depend on it).
    const centre = stopGradient(tf.mean(ta, 0, true));
    const ca = tf.sub(ta, centre);
    const cb = self ? ca : tf.sub(tb, centre);
    const na = tf.sum(tf.square(ca), 1, true);
    const nb = self ? na : tf.sum(tf.square(cb), 1, true);
    const cross = tf.matMul(ca, cb, false, true);
    const d = tf.relu(tf.sub(tf.add(na, tf.transpose(nb)), tf.mul(cross, 2)));
    return (self ? tf.mul(d, tf.sub(1, tf.eye(ta.shape[0]))) : d) as tf.Tensor2D;
  });
}
