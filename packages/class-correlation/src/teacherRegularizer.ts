import {
  crossEntropy,
  RelkdError,
  softCrossEntropy,
  stopGradient,
  type TensorInput,
  type ValidateMode,
} from '@relkd/core';
import {
  assertNumber,
  assertOneOf,
  checkFinite,
  ensureGradients,
  resolveValidate,
  toLabels,
  toLogits,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { ClassCorrelationTracker } from './ClassCorrelationTracker';
import { correlationOf, normalizeGram } from './classCorrelation';
import {
  assertNormalize,
  assertOptionsObject,
  type CorrelationNormalize,
} from './internal/options';

/** Inputs of {@link teacherRegularizer}. */
export interface TeacherRegularizerInputs {
  /** Logits `[B, C]` float32 of the teacher being trained (differentiated). */
  logits: tf.Tensor2D | TensorInput;
  /** Class indices `[B]` int32 in `[0, C)`. */
  labels: tf.Tensor1D | TensorInput;
  /** The tracker holding the class-correlation targets `A` (`numClasses` must equal `C`). */
  tracker: ClassCorrelationTracker;
}

/** Which regulariser {@link teacherRegularizer} applies. */
export type TeacherRegularizerKind = 'ols' | 'gram';

/** Options of {@link teacherRegularizer}. */
export interface TeacherRegularizerOptions {
  /** Mixing weight `w ∈ [0, 1]`: `total = (1 − w)·ce + w·reg`. Default `0.5`. */
  weight?: number;
  /**
   * `'ols'` (default): `reg = softCrossEntropy(Z, A[y])` (per-sample soft class-correlation
   * targets). `'gram'`: `reg = ‖N(PᵀP) − N(A[y]ᵀA[y])‖²_F` with `P = softmax(Z)` and `N` the
   * `gramNormalize` normalisation (default `'batch'`, i.e. the spec's `G(Z)/B` vs `(1/B)·A[y]ᵀA[y]`).
   */
  kind?: TeacherRegularizerKind;
  /** Normalisation `N` of both Gram matrices for `kind: 'gram'`. Default `'batch'`. (relkd option.) */
  gramNormalize?: CorrelationNormalize;
  /** Input checking; `'full'` also checks label ranges and finiteness. Default `'shapes'`. */
  validate?: ValidateMode;
}

/** Result of {@link teacherRegularizer}. */
export type TeacherRegularizerResult = {
  /** `(1 − weight)·ce + weight·reg`. */
  total: tf.Scalar;
  /** Cross-entropy with the hard labels. */
  ce: tf.Scalar;
  /** The unweighted class-correlation regulariser. */
  reg: tf.Scalar;
};

/**
 * The expressive-teacher objective of ICC (relkd's reconstruction): cross-entropy mixed with a
 * class-correlation regulariser whose targets come from a {@link ClassCorrelationTracker}:
 *
 * ```
 * total = (1 − weight)·CE(Z, y) + weight·reg
 * 'ols'  (default): reg = −(1/B) Σ_b Σ_c A[y_b]_c · logSoftmax(Z)_bc          (softCrossEntropy)
 * 'gram':           reg = ‖PᵀP/B − A[y]ᵀA[y]/B‖²_F,  P = softmax(Z)            (gramNormalize 'batch')
 * ```
 *
 * With `A = I` (a fresh tracker) the `'ols'` regulariser equals the cross-entropy, so the first
 * epoch trains with plain CE. The targets `A[y]` get no gradient. Feed the same logits to
 * `tracker.accumulate` and call `tracker.endEpoch()` after each epoch.
 *
 * Shapes: `logits [B, C]`, `labels [B]` int32. Returns `{ total, ce, reg }` (caller disposes).
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION`, `NON_FINITE`
 * @example
 * ```ts
 * const { total, ce, reg } = teacherRegularizer({ logits, labels, tracker }, { weight: 0.5 });
 * ```
 */
export function teacherRegularizer(
  inputs: TeacherRegularizerInputs,
  options: TeacherRegularizerOptions = {},
): TeacherRegularizerResult {
  assertOptionsObject(inputs, 'inputs');
  assertOptionsObject(options);
  const { weight = 0.5, kind = 'ols', gramNormalize = 'batch' } = options;
  assertNumber(weight, 'options.weight', { min: 0, max: 1 });
  assertOneOf(kind, ['ols', 'gram'] as const, 'options.kind');
  assertNormalize(gramNormalize, 'options.gramNormalize');
  const validate = resolveValidate(options.validate);
  const { tracker } = inputs;
  if (!(tracker instanceof ClassCorrelationTracker)) {
    throw new RelkdError('INVALID_OPTION', '`inputs.tracker` must be a ClassCorrelationTracker.', {
      name: 'tracker',
    });
  }
  if (tracker.isDisposed) {
    throw new RelkdError('INVALID_OPTION', '`inputs.tracker` has been disposed.', {
      name: 'tracker',
    });
  }
  ensureGradients();
  return tf.tidy(() => {
    const z = toLogits(inputs.logits, 'logits');
    tracker.assertClasses(z, 'logits');
    const [b, c] = z.shape;
    const y = toLabels(inputs.labels, c, b, 'labels', validate);
    checkFinite(z, 'logits', validate);
    const ay = stopGradient(tracker.targets(y));
    const ce = crossEntropy(z, y);
    let reg: tf.Scalar;
    if (kind === 'ols') {
      reg = softCrossEntropy(z, ay);
    } else {
      const gz = correlationOf(z, 1, gramNormalize);
      const gt = normalizeGram(tf.matMul(ay, ay, true, false), b, gramNormalize);
      reg = tf.sum(tf.square(tf.sub(gz, gt)));
    }
    const total = tf.add(tf.mul(ce, 1 - weight), tf.mul(reg, weight)) as tf.Scalar;
    return { total, ce, reg };
  });
}
