import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertRank, formatShape, type TensorInput, toTensor } from '../validation/validation';

/**
 * Squared Euclidean distances between the rows of `a [N, D]` and `b [M, D]` (default `b = a`):
 * `‖a_n‖² + ‖b_m‖² − 2 a_n·b_m`, clamped at 0 against rounding. Result `[N, M]`.
 *
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
    const ta = toTensor(a, 'a') as tf.Tensor2D;
    assertRank(ta, 2, 'a', '[N, D]');
    const tb = b === undefined ? ta : (toTensor(b, 'b') as tf.Tensor2D);
    assertRank(tb, 2, 'b', '[M, D]');
    if (ta.shape[1] !== tb.shape[1]) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`a\` and \`b\` must have the same row width D, got ${formatShape(ta.shape)} and ${formatShape(tb.shape)}.`,
      );
    }
    const na = tf.sum(tf.square(ta), 1, true);
    const nb = tb === ta ? na : tf.sum(tf.square(tb), 1, true);
    const cross = tf.matMul(ta, tb, false, true);
    return tf.relu(tf.sub(tf.add(na, tf.transpose(nb)), tf.mul(cross, 2))) as tf.Tensor2D;
  });
}
