import * as tf from '@tensorflow/tfjs-core';
import { assertRank, type TensorInput, toTensor } from '../validation/validation';

/**
 * Row Gram matrix `x xᵀ`: `[N, D] -> [N, N]`, entry `(m, n) = x_m · x_n`.
 *
 * @example
 * ```ts
 * gram(tf.tensor2d([[1, 0], [1, 1]])); // [[1, 1], [1, 2]]
 * ```
 */
export function gram(x: tf.Tensor2D | TensorInput): tf.Tensor2D {
  return tf.tidy(() => {
    const t = toTensor(x, 'x');
    assertRank(t, 2, 'x', '[N, D]');
    return tf.matMul(t as tf.Tensor2D, t as tf.Tensor2D, false, true);
  });
}
