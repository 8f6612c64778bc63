import { globalAveragePool, l2Normalize, stopGradient, type TensorInput } from '@relkd/core';
import { assertOneOf, ensureGradients } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkStageList,
  preparePairedStages,
  resolvePairing,
  type StageMapping,
  sumOverPairs,
  toStageFeature,
} from './stages';

/** How the pooled channel vectors are normalised before they are compared. */
export type ChannelNormalize = 'none' | 'l2' | 'softmax';

const NORMALIZE: readonly ChannelNormalize[] = ['none', 'l2', 'softmax'];

/** Options of {@link channelDistillationLoss}. */
export interface ChannelDistillationLossOptions {
  /** One weight `w_k >= 0` per stage pair. Default: all `1`. */
  weights?: readonly number[];
  /**
   * Normalisation of each pooled channel vector `GAP(F)[b, :]` before the squared difference:
   * `'none'` (default, Channel Distillation), `'l2'` (unit L2 norm) or `'softmax'` (over channels).
   * The two normalised variants are relkd options, not in the papers.
   */
  normalize?: ChannelNormalize;
  /**
   * Explicit `[studentIdx, teacherIdx]` stage pairs for student and teacher with different
   * numbers of stages. Default: stage k with stage k (both lists must then have the same length).
   */
  mapping?: StageMapping;
}

/** Internal: validated options. */
export interface ResolvedScd {
  pairs: Array<[number, number]>;
  weights: number[];
  normalize: ChannelNormalize;
}

/** Internal: checks options that need no tensor. */
export function resolveScdOptions(
  numStudent: number,
  numTeacher: number,
  options: ChannelDistillationLossOptions,
): ResolvedScd {
  const { normalize = 'none' } = options;
  assertOneOf(normalize, NORMALIZE, 'options.normalize');
  const { pairs, weights } = resolvePairing(
    numStudent,
    numTeacher,
    options,
    'studentFeatures',
    'teacherFeatures',
  );
  return { pairs, weights, normalize };
}

/** Internal: converts and checks the feature lists (call inside `tf.tidy`). */
export function prepareScdInputs(
  studentFeatures: readonly TensorInput[],
  teacherFeatures: readonly TensorInput[],
  pairs: ReadonlyArray<readonly [number, number]>,
): { s: tf.Tensor4D[]; t: tf.Tensor4D[] } {
  return preparePairedStages(
    studentFeatures,
    teacherFeatures,
    pairs,
    ['studentFeatures', 'teacherFeatures'],
    toStageFeature,
    'Adapt the student feature to the teacher width first, e.g. with `new ChannelAdapter(Cs, Ct)`.',
  );
}

function normalizeChannels(v: tf.Tensor2D, mode: ChannelNormalize): tf.Tensor2D {
  if (mode === 'l2') return l2Normalize(v);
  if (mode === 'softmax') return tf.softmax(v);
  return v;
}

/** Internal: the loss on prepared tensors (call inside `tf.tidy`). */
export function computeScd(s: tf.Tensor4D[], t: tf.Tensor4D[], o: ResolvedScd): tf.Scalar {
  return sumOverPairs(o.pairs, o.weights, (i, j) => {
    const ps = normalizeChannels(globalAveragePool(s[i]!), o.normalize);
    const pt = normalizeChannels(stopGradient(globalAveragePool(t[j]!)), o.normalize);
    return tf.mean(tf.square(tf.sub(pt, ps))) as tf.Scalar;
  });
}

/**
 * Stage-wise channel distillation (SCD, the feature term of MTKD-SSR), which is Channel
 * Distillation (Zhou et al. 2020): the student matches the teacher's per-channel global average,
 *
 * `L = Σ_k w_k · mean_{b,c} (GAP(F^T_k)[b,c] − GAP(F^S_k)[b,c])²`,  `GAP` = mean over H and W.
 *
 * Shapes (NHWC): `studentFeatures[k] [B, H_k, W_k, C_k]` must already have the teacher's width
 * (pass them through a {@link ChannelAdapter}); `teacherFeatures[k] [B, H'_k, W'_k, C_k]`. H×W may
 * differ between teacher and student. The teacher is stop-gradiented inside. Returns a scalar.
 * Defaults: `weights` all 1, `normalize = 'none'`, stage k paired with stage k.
 *
 * @throws RelkdError `SHAPE_MISMATCH` (different numbers of stages without `mapping`, batch
 *   mismatch, channel mismatch), `RANK_MISMATCH` (not rank 4, e.g. already pooled `[B, C]`),
 *   `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const adapted = adapters.map((a, k) => a.apply(studentFeatures[k], { training: true }));
 * const scd = channelDistillationLoss(adapted, teacherFeatures, { weights: [1, 1, 1] });
 * ```
 */
export function channelDistillationLoss(
  studentFeatures: readonly (tf.Tensor4D | TensorInput)[],
  teacherFeatures: readonly (tf.Tensor4D | TensorInput)[],
  options: ChannelDistillationLossOptions = {},
): tf.Scalar {
  checkStageList(studentFeatures, 'studentFeatures');
  checkStageList(teacherFeatures, 'teacherFeatures');
  const o = resolveScdOptions(studentFeatures.length, teacherFeatures.length, options);
  ensureGradients();
  return tf.tidy(() => {
    const { s, t } = prepareScdInputs(studentFeatures, teacherFeatures, o.pairs);
    return computeScd(s, t, o);
  });
}
