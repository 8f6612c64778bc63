import * as tf from '@tensorflow/tfjs-core';
import { fusedLoss } from '../kernels/fusedLoss';
import { FUSED_SOFTMAX_KL } from '../kernels/fusedLossKernels';
import {
  assertNumber,
  ensureGradients,
  resolveValidate,
  type TensorInput,
  type ValidateMode,
  warnIfProbabilities,
} from '../validation/validation';
import { temperedLogSoftmax, toLogitPair } from './logitPair';

/** Options of {@link klDivergence}. */
export interface KlDivergenceOptions {
  /** Softmax temperature `T > 0` for both sides. Default `1`. */
  temperature?: number;
  /** Multiply by `T²` (Hinton's gradient-scale correction). Default `false`. */
  scaleByTSquared?: boolean;
  /**
   * Input checking. Default `'shapes'`. `'full'` reads the data: `NON_FINITE` inputs, and a
   * `PROBABILITY_LIKE_LOGITS` warning when either input looks like probabilities.
   */
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
  return klDivergenceOf('klDivergence', studentLogits, teacherLogits, options);
}

/** Internal: {@link klDivergence}, with `who` naming the public function in warnings. */
export function klDivergenceOf(
  who: string,
  studentLogits: tf.Tensor2D | TensorInput,
  teacherLogits: tf.Tensor2D | TensorInput,
  options: KlDivergenceOptions,
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
    warnIfProbabilities(s, 'studentLogits', who, validate);
    warnIfProbabilities(t, 'teacherLogits', who, validate);
    const scale = (scaleByTSquared ? temperature * temperature : 1) / s.shape[0];
    return fusedKl(scale, temperature)(s, t);
  });
}

/**
 * `scale · Σ_b Σ_c p_t (log p_t − log p_s)` with its closed-form gradient
 * `∂/∂s = scale/T · (softmax(s/T) − softmax(t/T))` (rows of `p_t` sum to 1) and a zero gradient
 * for the teacher. Same values as composing the ops, but the backward pass is 4 kernels instead
 * of differentiating through both log-softmaxes (a large share of KD's cost on WASM).
 */
function fusedKl(scale: number, temperature: number) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, t, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    // A backend with the fused kernel (@relkd/backend: cpu, wasm): value and gradient in one
    // kernel (two kernels per call instead of ~30).
    const fused = fusedLoss(FUSED_SOFTMAX_KL, { s, t }, { temperature, scale }, save);
    if (fused !== undefined) return fused;
    const logPs = temperedLogSoftmax(s, temperature);
    const logPt = temperedLogSoftmax(t, temperature);
    const pt = tf.exp(logPt);
    const value = tf.mul(tf.sum(tf.mul(pt, tf.sub(logPt, logPs))), scale) as tf.Scalar;
    save([logPs, pt]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedLogPs, savedPt] = saved as [tf.Tensor2D, tf.Tensor2D];
        const ds = tf.mul(tf.sub(tf.exp(savedLogPs), savedPt), tf.mul(dy, scale / temperature));
        return [ds, tf.zerosLike(savedPt)];
      },
    };
  }) as (s: tf.Tensor2D, t: tf.Tensor2D) => tf.Scalar;
}
