import * as tf from '@tensorflow/tfjs-core';
import { assertAxis, assertNumber, type TensorInput, toTensor } from '../validation/validation';
import { safeSqrt } from './safeSqrt';

/** Options of {@link l2Normalize}. */
export interface L2NormalizeOptions {
  /** Axis to normalise over. Default `-1`. */
  axis?: number;
  /** Lower bound on the norm. Default `1e-12`. */
  epsilon?: number;
}

/**
 * `x / max(‖x‖₂, ε)` along `axis` (PyTorch's `F.normalize` convention). Zero vectors stay zero
 * with a finite gradient.
 *
 * Shapes: any `x`; the result has the shape of `x`. Defaults: `axis = -1`, `epsilon = 1e-12`.
 *
 * @example
 * ```ts
 * l2Normalize(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 * ```
 */
export function l2Normalize<T extends tf.Tensor>(
  x: T | TensorInput,
  options: L2NormalizeOptions = {},
): T {
  const { axis = -1, epsilon = 1e-12 } = options;
  assertNumber(epsilon, 'options.epsilon', { min: 0 });
  assertNumber(axis, 'options.axis', { integer: true });
  return tf.tidy(() => {
    const t = toTensor(x as TensorInput, 'x');
    assertAxis(axis, t.rank);
    const norm = safeSqrt(tf.sum(tf.square(t), axis, true));
    return tf.div(t, tf.maximum(norm, epsilon)) as T;
  });
}
