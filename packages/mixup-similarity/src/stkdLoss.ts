import {
  kdLoss,
  RelkdError,
  softCrossEntropy,
  stopGradient,
  type TensorInput,
  type ValidateMode,
} from '@relkd/core';
import {
  assertNumber,
  assertOneOf,
  assertSameShape,
  checkFinite,
  ensureGradients,
  resolveValidate,
  toLogitPair,
  toLogits,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  broadcastLambda,
  type LambdaInput,
  type PermutationInput,
  toLambda,
  toPermutation,
} from './internal/mixArgs';
import { mixedTeacherTarget } from './internal/mixedTeacherTarget';

/**
 * Where the soft target `q` comes from (a reconstruction choice, see docs/methods/stkd.md):
 * - `'teacherOnMixed'`: `q = softmax(t̃/τ)` with `t̃` the teacher's logits on the mixed batch `x̃`.
 * - `'mixedTeacherSoft'`: `q = λ·softmax(t/τ) + (1 − λ)·softmax(t[π]/τ)` with `t` the teacher's
 *   logits on the clean batch (mix the teacher's soft predictions the way the labels are mixed).
 */
export type StkdTargetMode = 'teacherOnMixed' | 'mixedTeacherSoft';

/** The teacher of `'mixedTeacherSoft'`: clean-batch logits plus the mixing that made `x̃`. */
export interface MixedTeacher {
  /** Teacher logits on the clean batch `x`, float32 `[B, C]`. */
  clean: tf.Tensor2D | TensorInput;
  /** λ used by `mixup`: a number, or per-sample `[B]` (array or float32 tensor). */
  lambda: LambdaInput;
  /** π used by `mixup`: int32 tensor `[B]` or JS integers (a JS array is checked to be a permutation). */
  permutation: PermutationInput;
}

/** Inputs of {@link stkdLoss}. */
export interface StkdInputs {
  /** Student logits `s̃` on the mixed batch, float32 `[B, C]`. */
  student: tf.Tensor2D | TensorInput;
  /**
   * Teacher: logits `t̃` on the mixed batch `[B, C]` (mode `'teacherOnMixed'`), or
   * `{ clean, lambda, permutation }` (mode `'mixedTeacherSoft'`). Never gets a gradient.
   */
  teacher: tf.Tensor2D | TensorInput | MixedTeacher;
  /** Mixed labels `ỹ` `[B, C]` (`mixup(...).targets`); rows should sum to 1. Never gets a gradient. */
  targets: tf.Tensor2D | TensorInput;
}

/** Options of {@link stkdLoss}. */
export interface StkdLossOptions {
  /** Softmax temperature `τ > 0` of the KD term. Default `4`. */
  temperature?: number;
  /** Weight of the mixed-label cross-entropy in `total` (finite, >= 0). Default `0.1`. */
  ceWeight?: number;
  /** Weight of the similarity-transfer KD term in `total` (finite, >= 0). Default `0.9`. */
  kdWeight?: number;
  /** Soft-target construction, see {@link StkdTargetMode}. Default `'teacherOnMixed'`. */
  targetMode?: StkdTargetMode;
  /**
   * `'shapes'` (default) never reads tensors back; `'full'` also checks logits are finite and
   * reads tensor λ / permutations to check their values.
   */
  validate?: ValidateMode;
}

/** The result of {@link stkdLoss}: unweighted parts and their weighted total (scalars). */
export interface StkdLossResult {
  /** `ceWeight·ce + kdWeight·kd`. */
  total: tf.Scalar;
  /** `L_CE`, the cross-entropy of the student (τ = 1) against the mixed labels, unweighted. */
  ce: tf.Scalar;
  /** `L_KD`, `τ²`-scaled batch-mean KL from `q` to the student's tempered softmax, unweighted. */
  kd: tf.Scalar;
}

const MODES: readonly StkdTargetMode[] = ['teacherOnMixed', 'mixedTeacherSoft'];

function isMixedTeacher(x: unknown): x is MixedTeacher {
  return (
    x !== null &&
    typeof x === 'object' &&
    !(x instanceof tf.Tensor) &&
    !Array.isArray(x) &&
    !ArrayBuffer.isView(x) &&
    'clean' in x
  );
}

/**
 * STKD similarity-transfer loss on mixup virtual samples (Zhao et al., "Similarity Transfer for
 * Knowledge Distillation", arXiv 2103.10047; reconstruction, see docs/methods/stkd.md):
 *
 * ```
 * L_CE = (1/B) Σ_b −Σ_c ỹ_bc · logSoftmax(s̃_b)_c
 * L_KD = τ² · (1/B) Σ_b Σ_c q_bc · (log q_bc − logSoftmax(s̃_b/τ)_c)      (0·log 0 = 0)
 * total = ceWeight · L_CE + kdWeight · L_KD
 * ```
 * with `q = softmax(t̃/τ)` (`'teacherOnMixed'`) or `q = λ·softmax(t/τ) + (1 − λ)·softmax(t[π]/τ)`
 * (`'mixedTeacherSoft'`, per-sample `λ_i` supported). Gradients w.r.t. the student are
 * `∂L_KD/∂s̃ = (τ/B)(softmax(s̃/τ) − q)` and `∂L_CE/∂s̃ = (softmax(s̃) − ỹ)/B`; the teacher and
 * the targets are stop-gradiented inside (in `'mixedTeacherSoft'` the whole target, row gather
 * included, is built under a zero-gradient `customGrad`, so it works on WASM even when the
 * teacher's variables are on the tape).
 *
 * Shapes: `student [B, C]`, `teacher [B, C]` or `{ clean [B, C], lambda: number | [B],
 * permutation [B] int32 }`, `targets [B, C]`, all float32 logits/probabilities. Defaults:
 * `temperature = 4`, `ceWeight = 0.1`, `kdWeight = 0.9`, `targetMode = 'teacherOnMixed'`
 * (the standard CIFAR-100 KD protocol).
 *
 * @returns `{ total, ce, kd }`, scalars; `ce` and `kd` unweighted.
 * @throws RelkdError `SHAPE_MISMATCH` (class counts or batch sizes differ, λ / permutation not of
 * length B), `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION` (τ <= 0, negative
 * weight, unknown mode, teacher form not matching the mode, λ outside [0, 1], not a permutation),
 * `NON_FINITE` (`validate: 'full'`), `GRADIENTS_NOT_REGISTERED`
 * @example
 * ```ts
 * const m = mixup(x, y, { numClasses: 10, seed: step });
 * const t = teacher.predict(m.inputs) as tf.Tensor2D;           // outside the gradient
 * optimizer.minimize(() => {
 *   const s = student.apply(m.inputs, { training: true }) as tf.Tensor2D;
 *   return stkdLoss({ student: s, teacher: t, targets: m.targets }).total;
 * }, false, studentVars);
 * ```
 */
export function stkdLoss(inputs: StkdInputs, options: StkdLossOptions = {}): StkdLossResult {
  if (inputs === null || typeof inputs !== 'object') {
    throw new RelkdError('INVALID_OPTION', '`inputs` must be { student, teacher, targets }.');
  }
  const {
    temperature = 4,
    ceWeight = 0.1,
    kdWeight = 0.9,
    targetMode = 'teacherOnMixed',
  } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  assertNumber(ceWeight, 'options.ceWeight', { min: 0 });
  assertNumber(kdWeight, 'options.kdWeight', { min: 0 });
  assertOneOf(targetMode, MODES, 'options.targetMode');
  const validate = resolveValidate(options.validate);
  const mixedTeacher = isMixedTeacher(inputs.teacher);
  if (targetMode === 'mixedTeacherSoft' && !mixedTeacher) {
    throw new RelkdError(
      'INVALID_OPTION',
      "`targetMode: 'mixedTeacherSoft'` needs `teacher: { clean, lambda, permutation }` (the teacher's " +
        'logits on the clean batch and the mixing that produced the student batch).',
      { name: 'inputs.teacher', targetMode },
    );
  }
  if (targetMode === 'teacherOnMixed' && mixedTeacher) {
    throw new RelkdError(
      'INVALID_OPTION',
      "`teacher: { clean, lambda, permutation }` is for `targetMode: 'mixedTeacherSoft'`; with the " +
        "default `'teacherOnMixed'` pass the teacher's logits on the mixed batch.",
      { name: 'inputs.teacher', targetMode },
    );
  }
  ensureGradients();

  const out = tf.tidy(() => {
    const [s, y] = toLogitPair(inputs.student, inputs.targets, 'student', 'targets', validate);
    const b = s.shape[0];
    // Validate and convert the teacher side before any kernel runs.
    let mixedParts: { t: tf.Tensor2D; lambda: number | tf.Tensor1D; perm: tf.Tensor1D } | null =
      null;
    let mixedLogits: tf.Tensor2D | null = null;
    if (isMixedTeacher(inputs.teacher)) {
      const teacher = inputs.teacher;
      const t = toLogits(teacher.clean, 'teacher.clean');
      assertSameShape(s, t, 'student', 'teacher.clean');
      const lambda = toLambda(teacher.lambda, b, 'teacher.lambda', validate);
      const perm = toPermutation(teacher.permutation, b, 'teacher.permutation', validate);
      checkFinite(t, 'teacher.clean', validate);
      mixedParts = { t, lambda, perm };
    } else {
      const t = toLogits(inputs.teacher as TensorInput, 'teacher');
      assertSameShape(s, t, 'student', 'teacher');
      checkFinite(t, 'teacher', validate);
      mixedLogits = t;
    }

    // Both parts go through core's fused losses (one kernel each on cpu/wasm, closed-form
    // gradients elsewhere); the targets and the teacher never get a gradient.
    const ce = softCrossEntropy(s, y, { validate: 'shapes' });
    let kd: tf.Scalar;
    if (mixedParts !== null) {
      const lam = broadcastLambda(mixedParts.lambda, 2);
      // q and xlogy(q, q) come out of a zero-gradient customGrad (`withoutGradient`, see internal/mixedTeacherTarget.ts).
      const { q, qLogQ } = mixedTeacherTarget(
        stopGradient(mixedParts.t),
        typeof lam === 'number' ? tf.scalar(lam) : lam,
        mixedParts.perm,
        temperature,
      );
      // KL(q ‖ p_s) = Σ q log q − Σ q log p_s, batch mean, times τ²; 0 · log 0 = 0.
      const crossTerm = softCrossEntropy(s, q as tf.Tensor2D, { temperature, validate: 'shapes' });
      kd = tf.mul(
        tf.add(tf.div(tf.sum(qLogQ), b), crossTerm),
        temperature * temperature,
      ) as tf.Scalar;
    } else {
      kd = kdLoss(s, mixedLogits as tf.Tensor2D, { temperature, validate: 'shapes' });
    }
    const total = tf.add(tf.mul(ce, ceWeight), tf.mul(kd, kdWeight)) as tf.Scalar;
    return { total, ce, kd };
  });
  return out;
}
