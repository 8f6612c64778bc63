import * as tf from '@tensorflow/tfjs-core';

const safe = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const value = tf.sqrt(tf.relu(x as tf.Tensor));
  (save as tf.GradSaveFunc)([value]);
  return {
    value,
    // d sqrt(x)/dx = 1 / (2 sqrt(x)) where x > 0; 0 at x <= 0 instead of Infinity (no 0·Inf NaN).
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const v = saved[0]!;
      const positive = tf.greater(v, 0);
      return tf.where(
        positive,
        tf.div(dy, tf.mul(tf.where(positive, v, tf.onesLike(v)), 2)),
        tf.zerosLike(dy),
      );
    },
  };
});

/**
 * `sqrt(max(x, 0))` whose gradient is 0 (not Infinity) where `x <= 0`. Used for norms and
 * standard deviations so constant or duplicate rows give finite gradients.
 *
 * @example
 * ```ts
 * safeSqrt(tf.tensor1d([4, 0, -1e-9])); // [2, 0, 0], gradient [0.25, 0, 0]
 * ```
 */
export function safeSqrt<T extends tf.Tensor>(x: T): T {
  return safe(x) as T;
}
