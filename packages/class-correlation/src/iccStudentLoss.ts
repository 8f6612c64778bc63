import { crossEntropy, kdLoss, type TensorInput, type ValidateMode } from '@relkd/core';
import { ensureGradients, resolveValidate, toLabels, toLogitPair } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { iccLoss } from './iccLoss';
import {
  assertNormalize,
  assertOptionsObject,
  assertTemperature,
  assertWeight,
  type CorrelationNormalize,
} from './internal/options';

/** Inputs of {@link iccStudentLoss}. */
export interface IccStudentInputs {
  /** Student logits `[B, C]` float32 (differentiated). */
  student: tf.Tensor2D | TensorInput;
  /** Teacher logits `[B, C]` float32 (stop-gradiented inside). */
  teacher: tf.Tensor2D | TensorInput;
  /** Ground-truth class indices `[B]` int32 in `[0, C)`. */
  labels: tf.Tensor1D | TensorInput;
}

/** Options of {@link iccStudentLoss}. */
export interface IccStudentLossOptions {
  /** Temperature `T > 0` of the Hinton KD term. Default `4`. */
  temperature?: number;
  /**
   * Temperature `τ > 0` of the correlation matrices of the ICC term. Default: `temperature` (the
   * KD temperature, `4` unless set). Before 0.2 the default was `1`; pass
   * `correlationTemperature: 1` for that behaviour. (At `τ = 1` a trained teacher's correlation
   * matrix is mostly diagonal, about 88% of its mass in one measurement, so the mimic term adds
   * little beyond KD; at `τ = 4` most of the mass is off the diagonal.)
   */
  correlationTemperature?: number;
  /** Weight of the KD term (`>= 0`). Default `1`. */
  kdWeight?: number;
  /** Weight of the ICC mimic term (`>= 0`). Default `1`. */
  iccWeight?: number;
  /** Normalisation of the ICC term, see {@link iccLoss}. Default `'frobenius'`. (relkd option, not in the paper's abstract.) */
  normalize?: CorrelationNormalize;
  /** Input checking; `'full'` also checks label ranges and finiteness. Default `'shapes'`. */
  validate?: ValidateMode;
}

/** Result of {@link iccStudentLoss}: the weighted total and the unweighted parts. */
export type IccStudentLossResult = {
  /** `ce + kdWeight·kd + iccWeight·icc`. */
  total: tf.Scalar;
  /** Cross-entropy of the student with the labels. */
  ce: tf.Scalar;
  /** `kdLoss(student, teacher, { temperature })` (with the `T²` factor). */
  kd: tf.Scalar;
  /** `iccLoss(student, teacher, { temperature: correlationTemperature, normalize })`. */
  icc: tf.Scalar;
};

/**
 * The ICC student objective:
 * `total = CE(S, y) + kdWeight·kdLoss(S, T; temperature) + iccWeight·iccLoss(S, T; correlationTemperature)`.
 *
 * Defaults: `temperature = 4`, `correlationTemperature = temperature`, `kdWeight = iccWeight = 1`,
 * `normalize = 'frobenius'`.
 *
 * Parts are returned unweighted (`{ total, ce, kd, icc }`); the caller disposes all four. The
 * teacher gets no gradient. Shapes: `student`, `teacher` `[B, C]`, `labels [B]` int32.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION`, `NON_FINITE`
 * @example
 * ```ts
 * const { total, ce, kd, icc } = iccStudentLoss({ student: s, teacher: t, labels: y });
 * ```
 */
export function iccStudentLoss(
  inputs: IccStudentInputs,
  options: IccStudentLossOptions = {},
): IccStudentLossResult {
  assertOptionsObject(inputs, 'inputs');
  assertOptionsObject(options);
  const {
    temperature = 4,
    correlationTemperature = temperature,
    kdWeight = 1,
    iccWeight = 1,
    normalize = 'frobenius',
  } = options;
  assertTemperature(temperature, 'options.temperature');
  assertTemperature(correlationTemperature, 'options.correlationTemperature');
  assertWeight(kdWeight, 'options.kdWeight');
  assertWeight(iccWeight, 'options.iccWeight');
  assertNormalize(normalize, 'options.normalize');
  const validate = resolveValidate(options.validate);
  ensureGradients();
  const parts = tf.tidy(() => {
    const [s, t] = toLogitPair(inputs.student, inputs.teacher, 'student', 'teacher', validate);
    const [b, c] = s.shape;
    const y = toLabels(inputs.labels, c, b, 'labels', validate);
    const ce = crossEntropy(s, y);
    const kd = kdLoss(s, t, { temperature });
    const icc = iccLoss(s, t, { temperature: correlationTemperature, normalize });
    const total = tf.addN([ce, tf.mul(kd, kdWeight), tf.mul(icc, iccWeight)]) as tf.Scalar;
    return { total, ce, kd, icc };
  });
  return parts;
}
