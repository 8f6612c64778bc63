import type * as tf from '@tensorflow/tfjs-core';
import type { TensorInput, ValidateMode } from '../validation/validation';
import { klDivergenceOf } from './klDivergence';

/** Options of {@link kdLoss}. */
export interface KdLossOptions {
  /** Softmax temperature `T > 0`. Default `4`. */
  temperature?: number;
  /**
   * Input checking. Default `'shapes'`. `'full'` reads the data: `NON_FINITE` inputs, and a
   * `PROBABILITY_LIKE_LOGITS` warning when the student or the teacher input looks like
   * probabilities (a teacher ending in a softmax: pass its pre-softmax outputs).
   */
  validate?: ValidateMode;
}

/**
 * Hinton knowledge distillation: `T² · (1/B) Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))`.
 * Equals PyTorch's `kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean') · T²`.
 * The teacher is stop-gradiented inside; log-probabilities come from `logSoftmax`.
 *
 * Shapes: `student [B, C]`, `teacher [B, C]` logits (float32). Default `T = 4`.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const loss = tf.add(crossEntropy(s, labels), kdLoss(s, t, { temperature: 4 }));
 * ```
 */
export function kdLoss(
  student: tf.Tensor2D | TensorInput,
  teacher: tf.Tensor2D | TensorInput,
  options: KdLossOptions = {},
): tf.Scalar {
  const { temperature = 4, validate } = options;
  return klDivergenceOf('kdLoss', student, teacher, {
    temperature,
    scaleByTSquared: true,
    ...(validate === undefined ? {} : { validate }),
  });
}
