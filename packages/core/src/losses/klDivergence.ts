import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../math/stopGradient';
import {
  assertNumber,
  ensureGradients,
  resolveValidate,
  type TensorInput,
  type ValidateMode,
} from '../validation/validation';
import { temperedLogSoftmax, toLogitPair } from './logitPair';

/** Options of {@link klDivergence}. */
export interface KlDivergenceOptions {
  /** Softmax temperature `T > 0` for both sides. Default `1`. */
  temperature?: number;
  /** Multiply by `T²` (Hinton's gradient-scale correction). Default `false`. */
  scaleByTSquared?: boolean;
  /** Input checking. Default `'shapes'`. */
  validate?: ValidateMode;
}

/**
 * Batch-mean KL divergence from the teacher's to the student's tempered distribution:
 * `(1/B) Σ_b Σ_c p_t (log p_t − log p_s)` with `p = softmax(z/T)` and both log-probabilities
 * from `logSoftmax` (never `log(softmax)`), times `T²` when `scaleByTSquared`.
 * The reduction is PyTorch's `batchmean` (sum over classes, mean over rows).
 * The teacher is stop-gradiented inside.
 *
 * Shapes: `studentLogits [B, C]`, `teacherLogits [B, C]`. Defaults: `T = 1`, no `T²`.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`,
 *   `NON_FINITE` (`validate: 'full'` only)
 * @example
 * ```ts
 * klDivergence(tf.tensor2d([[0, 0]]), tf.tensor2d([[0, 0]])); // 0
 * ```
 */
export function klDivergence(
  studentLogits: tf.Tensor2D | TensorInput,
  teacherLogits: tf.Tensor2D | TensorInput,
  options: KlDivergenceOptions = {},
): tf.Scalar {
  const { temperature = 1, scaleByTSquared = false } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  const validate = resolveValidate(options.validate);
  ensureGradients();
  return tf.tidy(() => {
    const [s, t] = toLogitPair(
      studentLogits,
      teacherLogits,
      'studentLogits',
      'teacherLogits',
      validate,
    );
    const scale = (scaleByTSquared ? temperature * temperature : 1) / s.shape[0];
    const logPs = temperedLogSoftmax(s, temperature);
    const logPt = temperedLogSoftmax(stopGradient(t), temperature);
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)));
    return tf.mul(kl, scale) as tf.Scalar;
  });
}
