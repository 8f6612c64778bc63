import type * as tf from '@tensorflow/tfjs-core';

/**
 * What {@link mixup} and {@link mixupWith} return. Every tensor is new and owned by the caller
 * (`tf.dispose(result)` releases them all; `lambda` as a number is ignored by `tf.dispose`).
 */
export type MixupResult<R extends tf.Rank = tf.Rank> = {
  /** `x̃ = λ·x + (1 − λ)·x[π]`, same shape as the inputs (`[B, …]`, NHWC for images), float32. */
  inputs: tf.Tensor<R>;
  /**
   * The mixing coefficient: a `number` when one λ is shared by the batch, a float32 tensor `[B]`
   * of per-sample `λ_i` otherwise (`perSample: true`, or a per-sample `lambda` to `mixupWith`).
   */
  lambda: number | tf.Tensor1D;
  /** `π`, an int32 tensor `[B]`: row `i` is mixed with row `π_i`. */
  permutation: tf.Tensor1D;
  /** `y`, the original labels, int32 `[B]` (a copy). */
  labelsA: tf.Tensor1D;
  /** `y[π]`, the partners' labels, int32 `[B]`. */
  labelsB: tf.Tensor1D;
  /** `ỹ = λ·onehot(y) + (1 − λ)·onehot(y[π])`, float32 `[B, C]`. */
  targets: tf.Tensor2D;
};
