import * as tf from '@tensorflow/tfjs-core';

/**
 * `oneHot(y, c)` as float32. Casts an int32 one-hot instead of passing `dtype: 'float32'` to
 * `tf.oneHot`: tfjs-backend-wasm 4.22's OneHot kernel ignores the dtype and writes int32 bit
 * patterns into the float buffer (1 reads as 1.4e-45).
 */
export function oneHotFloat(y: tf.Tensor1D, c: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(y, c), 'float32') as tf.Tensor2D;
}
