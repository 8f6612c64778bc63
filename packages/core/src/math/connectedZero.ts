import * as tf from '@tensorflow/tfjs-core';

/**
 * A zero scalar that stays connected to `x` in the gradient graph: `Σ 0·x`. Return it for a loss
 * part that is empty for this input (e.g. a cross-stage term with a single stage, or a part whose
 * inputs were omitted) so that `tf.grad`/`tf.variableGrads` give a zero gradient instead of
 * throwing "Cannot compute gradient … Make sure that the f you passed encloses all operations".
 * One kernel pair whatever the size of `x`. Note `0·∞ = NaN`: pass a finite tensor (the loss's
 * own input).
 *
 * @example
 * ```ts
 * const aux = parts.length === 0 ? connectedZero(logits) : tf.addN(parts);
 * tf.grad((z) => connectedZero(z))(tf.ones([2, 3])); // zeros [2, 3]
 * ```
 */
export function connectedZero(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(x, 0)));
}
