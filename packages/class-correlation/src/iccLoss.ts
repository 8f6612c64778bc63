import { stopGradient, type TensorInput, type ValidateMode } from '@relkd/core';
import { ensureGradients, resolveValidate, toLogitPair } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { correlationOf } from './classCorrelation';
import {
  assertNormalize,
  assertOptionsObject,
  assertTemperature,
  type CorrelationNormalize,
} from './internal/options';

/** Options of {@link iccLoss}. */
export interface IccLossOptions {
  /** Softmax temperature `τ > 0` of both correlation matrices. Default `1`. */
  temperature?: number;
  /**
   * Which correlation matrices are compared. Default `'frobenius'`.
   * - `'frobenius'`: `‖G_T/‖G_T‖_F − G_S/‖G_S‖_F‖²_F`, in `[0, 2]`, batch-size free,
   * - `'batch'`: `‖G_T/B − G_S/B‖²_F / C`,
   * - `'none'`: `‖G_T − G_S‖²_F / C` (the class-correlation term of Multi-Level Logit Distillation).
   */
  normalize?: CorrelationNormalize;
  /** Input checking; `'full'` also checks that the logits are finite. Default `'shapes'`. */
  validate?: ValidateMode;
}

/**
 * ICC mimic loss: the student matches the teacher's inter-class correlation
 * `G = PᵀP`, `P = softmax(Z/τ)` (see {@link classCorrelation}).
 *
 * ```
 * 'frobenius' (default): ‖G_T/‖G_T‖_F − G_S/‖G_S‖_F‖²_F        ∈ [0, 2]
 * 'batch':               ‖G_T/B − G_S/B‖²_F / C
 * 'none':                ‖G_T − G_S‖²_F / C
 * ```
 *
 * The teacher is stop-gradiented inside. The loss is invariant to a permutation of the batch
 * rows, to a per-row shift of either side's logits and to a common permutation of the classes;
 * it is 0 with a zero gradient when the logits are equal. The `'frobenius'` form compares the
 * shape of the correlation only, so one weight works across batch sizes, class counts and
 * temperatures; the `'batch'`/`'none'` forms change by orders of magnitude with them
 * (docs/methods/icc.md has the measurements).
 *
 * Shapes: `student [B, C]`, `teacher [B, C]` float32 logits. Returns a scalar.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`, `NON_FINITE`
 * @example
 * ```ts
 * const loss = tf.add(crossEntropy(s, labels), tf.mul(iccLoss(s, t), 1));
 * ```
 */
export function iccLoss(
  student: tf.Tensor2D | TensorInput,
  teacher: tf.Tensor2D | TensorInput,
  options: IccLossOptions = {},
): tf.Scalar {
  assertOptionsObject(options);
  const { temperature = 1, normalize = 'frobenius' } = options;
  assertTemperature(temperature, 'options.temperature');
  assertNormalize(normalize, 'options.normalize');
  const validate = resolveValidate(options.validate);
  ensureGradients();
  return tf.tidy(() => {
    const [s, t] = toLogitPair(student, teacher, 'student', 'teacher', validate);
    const gs = correlationOf(s, temperature, normalize);
    const gt = correlationOf(stopGradient(t), temperature, normalize);
    const sq = tf.sum(tf.square(tf.sub(gt, gs)));
    return (normalize === 'frobenius' ? sq : tf.div(sq, s.shape[1])) as tf.Scalar;
  });
}
