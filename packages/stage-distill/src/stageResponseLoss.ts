import { kdLoss, type TensorInput } from '@relkd/core';
import { assertNumber, ensureGradients, toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkStageList,
  preparePairedStages,
  resolvePairing,
  type StageMapping,
  sumOverPairs,
} from './stages';

/** Options of {@link stageResponseLoss}. */
export interface StageResponseLossOptions {
  /** Softmax temperature `T > 0`. Default `4`. */
  temperature?: number;
  /** One weight `w_k >= 0` per stage pair. Default: all `1`. */
  weights?: readonly number[];
  /**
   * Explicit `[studentIdx, teacherIdx]` stage pairs for student and teacher with different
   * numbers of stages. Default: stage k with stage k.
   */
  mapping?: StageMapping;
}

/** Internal: validated options. */
export interface ResolvedSrd {
  pairs: Array<[number, number]>;
  weights: number[];
  temperature: number;
}

/** Internal: checks options that need no tensor. */
export function resolveSrdOptions(
  numStudent: number,
  numTeacher: number,
  options: StageResponseLossOptions,
): ResolvedSrd {
  const { temperature = 4 } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  const { pairs, weights } = resolvePairing(
    numStudent,
    numTeacher,
    options,
    'studentStageLogits',
    'teacherStageLogits',
  );
  return { pairs, weights, temperature };
}

/** Internal: converts and checks the logit lists (call inside `tf.tidy`). */
export function prepareSrdInputs(
  student: readonly TensorInput[],
  teacher: readonly TensorInput[],
  pairs: ReadonlyArray<readonly [number, number]>,
): { s: tf.Tensor2D[]; t: tf.Tensor2D[] } {
  return preparePairedStages(
    student,
    teacher,
    pairs,
    ['studentStageLogits', 'teacherStageLogits'],
    toLogits,
    'Paired stage logits must cover the same classes.',
  );
}

/** Internal: the loss on prepared tensors (call inside `tf.tidy`). */
export function computeSrd(s: tf.Tensor2D[], t: tf.Tensor2D[], o: ResolvedSrd): tf.Scalar {
  return sumOverPairs(o.pairs, o.weights, (i, j) =>
    kdLoss(s[i]!, t[j]!, { temperature: o.temperature }),
  );
}

/**
 * Stage-wise response distillation (SRD of MTKD-SSR): Hinton KD between the logits of paired
 * student and teacher stages,
 *
 * `L = Σ_k w_k · kdLoss(z^S_k, z^T_k, T)`,  `kdLoss = T² · (1/B) Σ_b KL(softmax(z^T_b/T) ‖ softmax(z^S_b/T))`.
 *
 * The last pair is plain Hinton KD on the networks' own classifiers; earlier stages' logits come
 * from {@link StageHead}s. Pairing stage k with stage k is a reconstruction (only the paper's
 * abstract was available), see docs/methods/mtkd-ssr.md.
 *
 * Shapes: `studentStageLogits[k] [B, C]`, `teacherStageLogits[k] [B, C]`, float32.
 * The teacher is stop-gradiented inside. Defaults: `T = 4`, `weights` all 1, stage k with stage k.
 *
 * @throws RelkdError `SHAPE_MISMATCH` (different numbers of stages without `mapping`, batch or
 *   class mismatch), `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const srd = stageResponseLoss([s1, s2, sFinal], [t1, t2, tFinal], { temperature: 4 });
 * ```
 */
export function stageResponseLoss(
  studentStageLogits: readonly (tf.Tensor2D | TensorInput)[],
  teacherStageLogits: readonly (tf.Tensor2D | TensorInput)[],
  options: StageResponseLossOptions = {},
): tf.Scalar {
  checkStageList(studentStageLogits, 'studentStageLogits');
  checkStageList(teacherStageLogits, 'teacherStageLogits');
  const o = resolveSrdOptions(studentStageLogits.length, teacherStageLogits.length, options);
  ensureGradients();
  return tf.tidy(() => {
    const { s, t } = prepareSrdInputs(studentStageLogits, teacherStageLogits, o.pairs);
    return computeSrd(s, t, o);
  });
}
