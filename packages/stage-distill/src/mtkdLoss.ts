import {
  connectedZero,
  crossEntropy,
  RelkdError,
  type TensorInput,
  type ValidateMode,
} from '@relkd/core';
import { assertNumber, ensureGradients, resolveValidate, toLabels } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  type ChannelNormalize,
  computeScd,
  prepareScdInputs,
  resolveScdOptions,
} from './channelDistillationLoss';
import {
  computeCrd,
  prepareCrdInputs,
  type ReviewPairs,
  resolveCrdOptions,
} from './crossStageReviewLoss';
import { computeSrd, prepareSrdInputs, resolveSrdOptions } from './stageResponseLoss';
import { checkStageList, type StageMapping } from './stages';

/** Inputs of {@link mtkdLoss}. Every list is ordered shallow to deep. */
export interface MtkdInputs {
  /**
   * Student stage features NHWC `[B, H, W, C_k]`, already adapted to the teacher widths
   * (e.g. by {@link ChannelAdapter}s). Omit both feature lists to leave out SCD (`scd` is then 0).
   */
  studentFeatures?: readonly (tf.Tensor4D | TensorInput)[];
  /** Teacher stage features NHWC `[B, H', W', C_k]` (stop-gradiented inside). */
  teacherFeatures?: readonly (tf.Tensor4D | TensorInput)[];
  /** Student stage logits `[B, C]`: the stage heads' logits, then the network's own final logits. */
  studentStageLogits: readonly (tf.Tensor2D | TensorInput)[];
  /** Teacher stage logits `[B, C]`, same convention (stop-gradiented inside). */
  teacherStageLogits: readonly (tf.Tensor2D | TensorInput)[];
  /** Ground-truth classes, int32 `[B]` in `[0, C)`. */
  labels: tf.Tensor1D | TensorInput;
}

/** Options of {@link mtkdLoss}. */
export interface MtkdLossOptions {
  /** Weight of SCD. Default `1` (Channel Distillation used 6 on CIFAR; not hard-coded). */
  scdWeight?: number;
  /** Weight of SRD. Default `1`. */
  srdWeight?: number;
  /** Weight of CRD (cross-stage review). Default `1`. */
  crdWeight?: number;
  /** Weight of the stage heads' cross-entropy. Default `1`. */
  auxCeWeight?: number;
  /** Temperature of SRD and CRD. Default `4`. */
  temperature?: number;
  /** `[studentIdx, teacherIdx]` pairs, used by SCD and SRD. Default: stage k with stage k. */
  mapping?: StageMapping;
  /** Per-pair weights inside SCD ({@link ChannelDistillationLossOptions.weights}). Default all 1. */
  scdStageWeights?: readonly number[];
  /** Channel normalisation of SCD. Default `'none'`. */
  scdNormalize?: ChannelNormalize;
  /** Per-pair weights inside SRD ({@link StageResponseLossOptions.weights}). Default all 1. */
  srdStageWeights?: readonly number[];
  /** Pairing of CRD. Default `'allPrevious'`. */
  crdPairs?: ReviewPairs;
  /** Normalisation of CRD's inner sums. Default `false`. */
  crdNormalize?: boolean;
  /** Input checking of the labels (`'full'` also range-checks label tensors). Default `'shapes'`. */
  validate?: ValidateMode;
}

/**
 * The parts of {@link mtkdLoss}: every part unweighted, `total` the weighted sum.
 * (A type alias, so `tf.dispose(result)` accepts it.)
 */
export type MtkdLossResult = {
  total: tf.Scalar;
  /** Cross-entropy of the student's final logits (the last entry of `studentStageLogits`). */
  ce: tf.Scalar;
  /** Sum of the cross-entropies of the student's earlier stage logits (0 when K = 1). */
  auxCe: tf.Scalar;
  /** Stage-wise channel distillation ({@link channelDistillationLoss}). */
  scd: tf.Scalar;
  /** Stage-wise response distillation ({@link stageResponseLoss}). */
  srd: tf.Scalar;
  /** Cross-stage review distillation ({@link crossStageReviewLoss}). */
  crd: tf.Scalar;
};

/**
 * The full MTKD-SSR objective,
 *
 * `total = ce + auxCeWeight·auxCe + scdWeight·scd + srdWeight·srd + crdWeight·crd`,
 *
 * with `ce = CE(z^S_K, y)`, `auxCe = Σ_{k<K} CE(z^S_k, y)`, `scd` = {@link channelDistillationLoss},
 * `srd` = {@link stageResponseLoss}, `crd` = {@link crossStageReviewLoss}. The parts are returned
 * unweighted so they can be logged and re-weighted. Everything is validated before any kernel
 * runs; teacher inputs get no gradient.
 *
 * Shapes: see {@link MtkdInputs} (NHWC features, `[B, C]` logits, int32 `[B]` labels).
 * Defaults: all weights `1`, `T = 4`, stage k with stage k, `'allPrevious'` review.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`,
 *   `LABEL_OUT_OF_RANGE`, `INVALID_OPTION`
 * @example
 * ```ts
 * const { total, ce, scd, srd, crd } = mtkdLoss(
 *   { studentFeatures: adapted, teacherFeatures, studentStageLogits, teacherStageLogits, labels },
 *   { scdWeight: 6 },
 * );
 * ```
 */
export function mtkdLoss(inputs: MtkdInputs, options: MtkdLossOptions = {}): MtkdLossResult {
  if (inputs === null || typeof inputs !== 'object') {
    throw new RelkdError('INVALID_OPTION', '`inputs` must be an object of stage lists and labels.');
  }
  const { scdWeight = 1, srdWeight = 1, crdWeight = 1, auxCeWeight = 1, temperature = 4 } = options;
  const validate = resolveValidate(options.validate);
  assertNumber(scdWeight, 'options.scdWeight', { min: 0 });
  assertNumber(srdWeight, 'options.srdWeight', { min: 0 });
  assertNumber(crdWeight, 'options.crdWeight', { min: 0 });
  assertNumber(auxCeWeight, 'options.auxCeWeight', { min: 0 });
  const { studentFeatures, teacherFeatures, studentStageLogits, teacherStageLogits, labels } =
    inputs;
  checkStageList(studentStageLogits, 'studentStageLogits');
  checkStageList(teacherStageLogits, 'teacherStageLogits');
  const hasFeatures = studentFeatures !== undefined || teacherFeatures !== undefined;
  if (hasFeatures) {
    checkStageList(studentFeatures, 'studentFeatures');
    checkStageList(teacherFeatures, 'teacherFeatures');
  }
  const scdOptions = hasFeatures
    ? resolveScdOptions(studentFeatures!.length, teacherFeatures!.length, {
        ...(options.mapping === undefined ? {} : { mapping: options.mapping }),
        ...(options.scdStageWeights === undefined ? {} : { weights: options.scdStageWeights }),
        ...(options.scdNormalize === undefined ? {} : { normalize: options.scdNormalize }),
      })
    : null;
  const srdOptions = resolveSrdOptions(studentStageLogits.length, teacherStageLogits.length, {
    temperature,
    ...(options.mapping === undefined ? {} : { mapping: options.mapping }),
    ...(options.srdStageWeights === undefined ? {} : { weights: options.srdStageWeights }),
  });
  const crdOptions = resolveCrdOptions({
    temperature,
    ...(options.crdPairs === undefined ? {} : { pairs: options.crdPairs }),
    ...(options.crdNormalize === undefined ? {} : { normalize: options.crdNormalize }),
  });
  ensureGradients();
  return tf.tidy(() => {
    // 1. convert and validate everything (no kernel has run yet)
    const { s: zs, t: zt } = prepareSrdInputs(
      studentStageLogits,
      teacherStageLogits,
      srdOptions.pairs,
    );
    prepareCrdInputs(studentStageLogits);
    const K = zs.length;
    const zFinal = zs[K - 1]!;
    const y = toLabels(labels, zFinal.shape[1], zFinal.shape[0], 'labels', validate);
    const features =
      scdOptions === null
        ? null
        : prepareScdInputs(studentFeatures!, teacherFeatures!, scdOptions.pairs);
    if (features !== null && features.s[0]!.shape[0] !== zFinal.shape[0]) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`studentFeatures[0]\` has ${features.s[0]!.shape[0]} rows but \`studentStageLogits\` have ${zFinal.shape[0]}; features and logits must come from the same batch.`,
      );
    }
    // 2. compute
    const ce = crossEntropy(zFinal, y);
    const aux = zs.slice(0, K - 1).map((z) => crossEntropy(z, y));
    const auxCe =
      aux.length === 0
        ? connectedZero(zFinal)
        : aux.length === 1
          ? aux[0]!
          : (tf.addN(aux) as tf.Scalar);
    const scd =
      features === null ? connectedZero(zFinal) : computeScd(features.s, features.t, scdOptions!);
    const srd = computeSrd(zs, zt, srdOptions);
    const crd = computeCrd(zs, crdOptions);
    const total = tf.addN([
      ce,
      tf.mul(auxCe, auxCeWeight),
      tf.mul(scd, scdWeight),
      tf.mul(srd, srdWeight),
      tf.mul(crd, crdWeight),
    ]) as tf.Scalar;
    return { total, ce, auxCe, scd, srd, crd };
  });
}
