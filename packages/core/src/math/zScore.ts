import * as tf from '@tensorflow/tfjs-core';
import { assertAxis, assertNumber, type TensorInput, toTensor } from '../validation/validation';
import { safeSqrt } from './safeSqrt';

/** Options of {@link zScore}. */
export interface ZScoreOptions {
  /** Axis to standardise over. Default `-1`. */
  axis?: number;
  /** Added to the standard deviation. Default `1e-7`. */
  epsilon?: number;
}

/**
 * Standardises along `axis`: `(x − mean) / (std + ε)` with the population standard deviation
 * (divide by n). Constant slices give 0 with a finite (zero) gradient through the std.
 *
 * Shapes: any `x`; the result has the shape of `x`. Defaults: `axis = -1`, `epsilon = 1e-7`.
 *
 * @example
 * ```ts
 * zScore(tf.tensor2d([[1, 2, 3]])); // ≈ [[-1.2247, 0, 1.2247]]
 * ```
 */
export function zScore<T extends tf.Tensor>(x: T | TensorInput, options: ZScoreOptions = {}): T {
  const { axis = -1, epsilon = 1e-7 } = options;
  assertNumber(epsilon, 'options.epsilon', { min: 0 });
  assertNumber(axis, 'options.axis', { integer: true });
  return tf.tidy(() => {
    const t = toTensor(x as TensorInput, 'x');
    assertAxis(axis, t.rank);
    const mean = tf.mean(t, axis, true);
    const centred = tf.sub(t, mean);
    const std = safeSqrt(tf.mean(tf.square(centred), axis, true));
    return tf.div(centred, tf.add(std, epsilon)) as T;
  });
}
