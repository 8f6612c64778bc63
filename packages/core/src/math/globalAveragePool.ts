import * as tf from '@tensorflow/tfjs-core';
import { assertRank, type TensorInput, toTensor } from '../validation/validation';

/**
 * Global average pooling of an NHWC feature map: `[B, H, W, C] -> [B, C]` (mean over H and W).
 *
 * @example
 * ```ts
 * globalAveragePool(tf.ones([2, 4, 4, 8])).shape; // [2, 8]
 * ```
 */
export function globalAveragePool(x: tf.Tensor4D | TensorInput): tf.Tensor2D {
  return tf.tidy(() => {
    const t = toTensor(x, 'x');
    assertRank(t, 4, 'x', 'NHWC [B, H, W, C]');
    return tf.mean(t, [1, 2]) as tf.Tensor2D;
  });
}
