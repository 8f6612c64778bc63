import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertRank, formatShape, type TensorInput, toTensor } from '../validation/validation';
import { l2Normalize } from './l2Normalize';

/**
 * Cosine similarities between the rows of `a [N, D]` and `b [M, D]` (default `b = a`):
 * `â_n · b̂_m` with `x̂ = x / max(‖x‖, 1e-12)`. Result `[N, M]`; zero rows give 0.
 *
 * @example
 * ```ts
 * cosineSimilarityMatrix(tf.tensor2d([[1, 0], [1, 1]])); // [[1, 0.7071], [0.7071, 1]]
 * ```
 */
export function cosineSimilarityMatrix(
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
    const na = l2Normalize(ta);
    const nb = tb === ta ? na : l2Normalize(tb);
    return tf.matMul(na, nb, false, true);
  });
}
