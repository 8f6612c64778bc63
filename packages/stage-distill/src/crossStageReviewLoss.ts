import { connectedZero, kdLoss, RelkdError, type TensorInput } from '@relkd/core';
import { assertNumber, assertOneOf, ensureGradients } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { assertPairWidth, checkStageList, toStageLogits } from './stages';

/** Which shallower stages each deeper stage reviews (teaches) in {@link crossStageReviewLoss}. */
export type ReviewPairs = 'allPrevious' | 'adjacent';

const PAIRS: readonly ReviewPairs[] = ['allPrevious', 'adjacent'];

/** Options of {@link crossStageReviewLoss}. */
export interface CrossStageReviewLossOptions {
  /** Softmax temperature `T > 0`. Default `4`. */
  temperature?: number;
  /**
   * `'allPrevious'` (default): stage k teaches every stage j < k; `'adjacent'`: stage k teaches
   * only stage k − 1 (K − 1 terms).
   */
  pairs?: ReviewPairs;
  /**
   * Divide each inner sum (the terms taught by stage k) by its number of terms: `k − 1` (1-based)
   * for `'allPrevious'`, 1 for `'adjacent'` (so it changes nothing there). Default `false`.
   */
  normalize?: boolean;
}

/** Internal: validated options. */
export interface ResolvedCrd {
  temperature: number;
  pairs: ReviewPairs;
  normalize: boolean;
}

/** Internal: checks options that need no tensor. */
export function resolveCrdOptions(options: CrossStageReviewLossOptions): ResolvedCrd {
  const { temperature = 4, pairs = 'allPrevious', normalize = false } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  assertOneOf(pairs, PAIRS, 'options.pairs');
  if (typeof normalize !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.normalize\` must be a boolean, got ${JSON.stringify(normalize)}.`,
      { name: 'options.normalize', value: normalize },
    );
  }
  return { temperature, pairs, normalize };
}

/** Internal: converts and checks the student stage logits (call inside `tf.tidy`). */
export function prepareCrdInputs(student: readonly TensorInput[]): tf.Tensor2D[] {
  const z = toStageLogits(student, 'studentStageLogits');
  const last = z.length - 1;
  z.forEach((zk, k) => {
    assertPairWidth(
      zk,
      z[last]!,
      `studentStageLogits[${k}]`,
      `studentStageLogits[${last}]`,
      'Every stage head must predict the same classes.',
    );
  });
  return z;
}

/** Internal: the loss on prepared tensors (call inside `tf.tidy`). */
export function computeCrd(z: tf.Tensor2D[], o: ResolvedCrd): tf.Scalar {
  const K = z.length;
  if (K === 1) return connectedZero(z[0]!);
  const outer: tf.Scalar[] = [];
  for (let k = 1; k < K; k++) {
    const students = o.pairs === 'adjacent' ? [k - 1] : Array.from({ length: k }, (_, j) => j);
    // kdLoss stop-gradients its teacher argument: the deeper stage z_k receives no gradient here.
    const terms = students.map((j) => kdLoss(z[j]!, z[k]!, { temperature: o.temperature }));
    let inner = terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Scalar);
    if (o.normalize && terms.length > 1) inner = tf.div(inner, terms.length);
    outer.push(inner);
  }
  return (outer.length === 1 ? outer[0]! : tf.addN(outer)) as tf.Scalar;
}

/**
 * Cross-stage review distillation (the "CRD" of MTKD-SSR, the student's self-reflection; not
 * Contrastive Representation Distillation): each deeper stage of the student teaches its
 * shallower stages with Hinton KD, the deeper side stop-gradiented,
 *
 * `L = Σ_{k=2..K} Σ_{j<k} kdLoss(z^S_j, stopGradient(z^S_k), T)`  (`'adjacent'`: only `j = k − 1`;
 * `normalize`: each inner sum divided by its number of terms).
 *
 * The direction (deep teaches shallow), the pairing and the normalisation are reconstructions
 * (only the paper's abstract was available), exposed as options; see docs/methods/mtkd-ssr.md.
 * The deepest logits `z^S_K` get no gradient from this loss; `K = 1` gives 0.
 *
 * Shapes: `studentStageLogits[k] [B, C]` float32, all the same shape, shallow to deep.
 * Defaults: `T = 4`, `pairs = 'allPrevious'`, `normalize = false`.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const crd = crossStageReviewLoss([head1Logits, head2Logits, finalLogits], { pairs: 'adjacent' });
 * ```
 */
export function crossStageReviewLoss(
  studentStageLogits: readonly (tf.Tensor2D | TensorInput)[],
  options: CrossStageReviewLossOptions = {},
): tf.Scalar {
  checkStageList(studentStageLogits, 'studentStageLogits');
  const o = resolveCrdOptions(options);
  ensureGradients();
  return tf.tidy(() => computeCrd(prepareCrdInputs(studentStageLogits), o));
}
