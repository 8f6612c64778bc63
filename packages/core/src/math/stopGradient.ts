import * as tf from '@tensorflow/tfjs-core';

const stop = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
  value: (x as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Identity in the forward pass, zero gradient in the backward pass (a `tf.customGrad`).
 * Every relkd loss applies it to teacher inputs itself, so the teacher never gets a gradient.
 *
 * @example
 * ```ts
 * const g = tf.grad((x) => tf.sum(tf.mul(x, stopGradient(x))))(tf.tensor1d([3]));
 * // g = [3] (only the first factor contributes)
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stop(x) as T;
}
