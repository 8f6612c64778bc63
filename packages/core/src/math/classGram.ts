import * as tf from '@tensorflow/tfjs-core';
import { assertRank, type TensorInput, toTensor } from '../validation/validation';

/**
 * Column (class) Gram matrix `pᵀ p`: `[B, C] -> [C, C]`, entry `(c, d) = Σ_b p_bc p_bd`.
 * With `p` = softmax probabilities this is the inter-class correlation of a batch.
 *
 * @example
 * ```ts
 * classGram(tf.tensor2d([[1, 0], [0, 1], [1, 0]])); // [[2, 0], [0, 1]]
 * ```
 */
export function classGram(p: tf.Tensor2D | TensorInput): tf.Tensor2D {
  return tf.tidy(() => {
    const t = toTensor(p, 'p');
    assertRank(t, 2, 'p', '[B, C]');
    return tf.matMul(t as tf.Tensor2D, t as tf.Tensor2D, true, false);
  });
}
