import * as tf from '@tensorflow/tfjs-core';
import type { TensorInput } from '../validation/validation';
import { l2Normalize } from './l2Normalize';
import { toRowPair } from './rowPair';

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
    const [ta, tb] = toRowPair(a, b);
    const na = l2Normalize(ta);
    const nb = tb === ta ? na : l2Normalize(tb);
    return tf.matMul(na, nb, false, true);
  });
}
