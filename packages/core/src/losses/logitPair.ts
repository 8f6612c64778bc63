import * as tf from '@tensorflow/tfjs-core';
import {
  assertSameShape,
  checkFinite,
  type TensorInput,
  toLogits,
  type ValidateMode,
} from '../validation/validation';

/**
 * Internal: converts and checks the two `[B, C]` float32 inputs of a two-distribution loss
 * (`klDivergence`, `softCrossEntropy`): each as logits, the same shape, and finite in
 * `validate: 'full'` mode. Call it inside `tf.tidy` so a throw releases the conversions.
 */
export function toLogitPair(
  a: TensorInput,
  b: TensorInput,
  nameA: string,
  nameB: string,
  validate: ValidateMode,
): [tf.Tensor2D, tf.Tensor2D] {
  const ta = toLogits(a, nameA);
  const tb = toLogits(b, nameB);
  assertSameShape(ta, tb, nameA, nameB);
  checkFinite(ta, nameA, validate);
  checkFinite(tb, nameB, validate);
  return [ta, tb];
}

/** Internal: `logSoftmax(z / T)` along the last axis, without the division at `T = 1`. */
export function temperedLogSoftmax(z: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.logSoftmax(temperature === 1 ? z : tf.div<tf.Tensor2D>(z, temperature));
}
