import * as tf from '@tensorflow/tfjs-core';
import {
  assertSameShape,
  checkFinite,
  type TensorInput,
  toLogits,
  type ValidateMode,
} from '../validation/validation';

/**
 * Converts and checks the two `[B, C]` float32 logit (or distribution) inputs of a
 * two-distribution loss: each as {@link toLogits} (float32, rank 2, B >= 1, C >= 1), the same
 * shape, and finite when `validate` is `'full'`. Used by `klDivergence`, `softCrossEntropy` and
 * the student/teacher losses of the other packages. Call it inside `tf.tidy` so a failed check
 * releases the converted inputs.
 *
 * @throws RelkdError `DTYPE_MISMATCH`, `RANK_MISMATCH`, `EMPTY_BATCH`, `SHAPE_MISMATCH`,
 *   `INVALID_OPTION` (not tensor-like, disposed), `NON_FINITE` (`validate: 'full'` only)
 * @example
 * ```ts
 * return tf.tidy(() => {
 *   const [s, t] = toLogitPair(student, teacher, 'student', 'teacher', validate);
 *   // ... compose the loss from s and stopGradient(t)
 * });
 * ```
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
