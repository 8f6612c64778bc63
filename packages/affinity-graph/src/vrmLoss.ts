import { RelkdError, stopGradient, type TensorInput, zScore } from '@relkd/core';
import {
  assertNumber,
  assertOneOf,
  assertSameShape,
  ensureGradients,
  toLogits,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { directGraphLoss } from './internal/directPath';
import { fusedGramVrm, gramGraphLoss } from './internal/gramPath';
import { isEdgeMask, strictUpper } from './isEdgeMask';
import { jointEntropyKeep } from './jointEntropyMask';
import {
  checkEpsilon,
  checkIsEdges,
  checkUep,
  EDGE_EPSILON,
  type IsEdges,
  type UepOption,
  type VrmPath,
  ZS_EPSILON,
} from './options';

/** Logits of one network on the real and on the virtual view of the same images, each `[B, C]`. */
export interface ViewLogits {
  real: TensorInput;
  virtual: TensorInput;
}

/** Inputs of {@link vrmLoss}. */
export interface VrmInputs {
  student: ViewLogits;
  /** Treated as constants (stop-gradient is applied inside). */
  teacher: ViewLogits;
}

/** Options of {@link vrmLoss}. Defaults follow the spec. */
export interface VrmLossOptions {
  /** z-score every row of `Ys` and `Yt` over the classes first. Default `true`. */
  zsNorm?: boolean;
  /** Inter-sample edges kept by redundant-edge pruning. Default `'cross'`. */
  isEdges?: IsEdges;
  /** Unreliable-edge pruning. Default `{ kind: 'none' }`. */
  uep?: UepOption;
  /** Weights of the two parts: `total = is · weights.is + ic · weights.ic`. Default `{ is: 1, ic: 1 }`. */
  weights?: { is?: number; ic?: number };
  /**
   * (ours) Evaluation path. `'auto'` (default) uses `'gram'` unless `uep.kind === 'clip'` (an
   * elementwise mask needs the edges). `'gram'` with `'clip'` throws `INVALID_OPTION`.
   */
  path?: VrmPath;
  /** Validity threshold on edge norms (teacher AND student). Default `1e-8`. */
  epsilon?: number;
  /**
   * (ours) Relative validity floor, used by BOTH paths: an edge `a − b` counts as invalid in a
   * network when its squared norm is at or below `max(epsilon², gramTolerance · (‖a‖² + ‖b‖²))`
   * (teacher OR student). This is the float32 rounding floor of the Gram identity
   * `‖a‖² + ‖b‖² − 2a·b` (exact duplicates would otherwise come out as tiny random vectors), and
   * the direct path applies the same rule so that a near-duplicate pair (e.g. a row and a nearly
   * identical virtual twin, whose difference is float32 noise after z-scoring) is dropped on both
   * paths instead of getting a `1/‖d‖`-sized gradient on one. Default `1e-5`; `0` gives the plain
   * absolute rule `‖d‖ > epsilon` on both paths.
   */
  gramTolerance?: number;
}

/** Result of {@link vrmLoss}: unweighted parts and the weighted total (scalars). */
export interface VrmLossResult {
  total: tf.Scalar;
  /** Inter-sample graph loss (mean over kept valid edges, each in [0, 4]). */
  is: tf.Scalar;
  /** Inter-class graph loss (mean over kept valid edges `c < d`, each in [0, 4]). */
  ic: tf.Scalar;
}

/** Default Gram-path noise floor (see {@link VrmLossOptions.gramTolerance}). */
export const GRAM_TOLERANCE = 1e-5;

interface ResolvedLossOptions {
  zsNorm: boolean;
  isEdges: IsEdges;
  uep: UepOption;
  wIs: number;
  wIc: number;
  path: VrmPath;
  epsilon: number;
  gramTolerance: number;
}

/** Checks every option of {@link vrmLoss} and fills in the defaults. */
function resolveLossOptions(options: VrmLossOptions, name: string): ResolvedLossOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RelkdError('INVALID_OPTION', `\`${name}\` must be an object.`, { name });
  }
  const {
    zsNorm = true,
    isEdges = 'cross',
    uep: uepRaw = { kind: 'none' },
    weights = {},
    path = 'auto',
    epsilon = EDGE_EPSILON,
    gramTolerance = GRAM_TOLERANCE,
  } = options;
  if (typeof zsNorm !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}.zsNorm\` must be a boolean, got ${String(zsNorm)}.`,
      { name: `${name}.zsNorm`, value: zsNorm },
    );
  }
  checkIsEdges(isEdges, `${name}.isEdges`);
  const uep = checkUep(uepRaw, `${name}.uep`);
  if (weights !== null && typeof weights !== 'object') {
    throw new RelkdError('INVALID_OPTION', `\`${name}.weights\` must be { is?, ic? }.`, {
      name: `${name}.weights`,
      value: weights,
    });
  }
  const { is: wIs = 1, ic: wIc = 1 } = weights ?? {};
  assertNumber(wIs, `${name}.weights.is`, { min: 0 });
  assertNumber(wIc, `${name}.weights.ic`, { min: 0 });
  assertOneOf(path, ['auto', 'gram', 'direct'] as const, `${name}.path`);
  checkEpsilon(epsilon, `${name}.epsilon`);
  assertNumber(gramTolerance, `${name}.gramTolerance`, { min: 0, max: 1 });
  if (path === 'gram' && uep.kind === 'clip') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}.path: 'gram'\` cannot apply \`uep: { kind: 'clip' }\` (an elementwise mask needs ` +
        "the edges). Use path 'auto' or 'direct'.",
      { name: `${name}.path`, value: path },
    );
  }
  return { zsNorm, isEdges, uep, wIs, wIc, path, epsilon, gramTolerance };
}

/**
 * Checks options of {@link vrmLoss} without running it (e.g. when a recipe is made), with error
 * names under `name` (default `'options'`).
 *
 * @throws RelkdError `INVALID_OPTION`
 * @example
 * ```ts
 * validateVrmLossOptions({ uep: { kind: 'jointEntropy', ratio: 0.1 } }); // ok
 * validateVrmLossOptions({ weights: { is: -1 } }); // throws
 * ```
 */
export function validateVrmLossOptions(options: VrmLossOptions, name = 'options'): void {
  resolveLossOptions(options, name);
}

/**
 * VRM (Virtual Relation Matching) loss. Stack by view `Ys = [Ss; Sv]`, `Yt = [Ts; Tv]` (`[2B, C]`,
 * row `B + i` is the virtual view of image `i`), z-score rows (`zsNorm`), build the inter-sample
 * graph (rows, edge = unit difference vector) and the inter-class graph (columns), keep the
 * non-redundant edges (IS: `isEdges`, IC: `c < d`) that are valid in both networks
 * (`‖d‖² > max(epsilon², gramTolerance · (‖a‖² + ‖b‖²))`, on both paths) and not pruned by
 * `uep`, and per graph
 * `L_G = Σ_k Σ_c M_kc (E^s_k[c] − E^t_k[c])² / max(#kept valid edges, 1)`
 * (per edge `2 − 2 cos(d_s, d_t)` without an elementwise mask).
 * Returns `{ total = weights.is · is + weights.ic · ic, is, ic }` (parts unweighted; no CE inside).
 * The teacher never receives a gradient; pruned and invalid edges give exactly zero gradient.
 *
 * Shapes: all four inputs `[B, C]` float32 logits, `B >= 1`.
 * Defaults: `zsNorm = true`, `isEdges = 'cross'`, `uep = { kind: 'none' }`,
 * `weights = { is: 1, ic: 1 }`, `path = 'auto'`, `epsilon = 1e-8`, `gramTolerance = 1e-5`.
 * Memory: Gram path `O(N² + C²)` with `N = 2B`; direct path `O(N²C + C²N)`.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`,
 *   `INVALID_OPTION`, `GRADIENTS_NOT_REGISTERED`
 * @example
 * ```ts
 * const { total, is, ic } = vrmLoss({
 *   student: { real: student.apply(x), virtual: student.apply(xv) },
 *   teacher: { real: teacher.apply(x), virtual: teacher.apply(xv) },
 * });
 * ```
 */
export function vrmLoss(inputs: VrmInputs, options: VrmLossOptions = {}): VrmLossResult {
  const { zsNorm, isEdges, uep, wIs, wIc, path, epsilon, gramTolerance } = resolveLossOptions(
    options,
    'options',
  );
  if (inputs == null || inputs.student == null || inputs.teacher == null) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`inputs` must be { student: { real, virtual }, teacher: { real, virtual } }.',
      { name: 'inputs' },
    );
  }
  ensureGradients();
  const usePath = path === 'auto' ? (uep.kind === 'clip' ? 'direct' : 'gram') : path;

  return tf.tidy(() => {
    const ss = toLogits(inputs.student.real, 'student.real');
    const sv = toLogits(inputs.student.virtual, 'student.virtual');
    const ts = toLogits(inputs.teacher.real, 'teacher.real');
    const tv = toLogits(inputs.teacher.virtual, 'teacher.virtual');
    assertSameShape(sv, ss, 'student.virtual', 'student.real');
    assertSameShape(ts, ss, 'teacher.real', 'student.real');
    assertSameShape(tv, ss, 'teacher.virtual', 'student.real');
    const [b, c] = ss.shape;

    if (usePath === 'gram' && uep.kind === 'none') {
      // Default path: one custom-gradient node keeps only the four inputs for autodiff.
      const fused = fusedGramVrm(ss, sv, ts, tv, {
        zsNorm,
        zsEpsilon: ZS_EPSILON,
        isKeep: () => isEdgeMask(b, isEdges),
        epsilon,
        tolerance: gramTolerance,
      });
      const isLoss = fused.is.loss;
      const icLoss = fused.ic.loss;
      const sum = tf.add(tf.mul(isLoss, wIs), tf.mul(icLoss, wIc)) as tf.Scalar;
      return { total: sum, is: isLoss, ic: icLoss };
    }
    const ysRaw = tf.concat([ss, sv]) as tf.Tensor2D;
    const ytRaw = stopGradient(tf.concat([ts, tv]) as tf.Tensor2D);
    const ys = zsNorm ? zScore(ysRaw, { epsilon: ZS_EPSILON }) : ysRaw;
    const yt = zsNorm ? zScore(ytRaw, { epsilon: ZS_EPSILON }) : ytRaw;

    const isKeep =
      uep.kind === 'jointEntropy'
        ? jointEntropyKeep(ysRaw, b, uep.ratio, isEdges)
        : isEdgeMask(b, isEdges);
    const ysT = tf.transpose(ys) as tf.Tensor2D;
    const ytT = tf.transpose(yt) as tf.Tensor2D;
    let isPart: tf.Scalar;
    let icPart: tf.Scalar;
    if (usePath === 'gram') {
      isPart = gramGraphLoss(ys, yt, isKeep, epsilon, gramTolerance).loss;
      icPart = gramGraphLoss(ysT, ytT, 'upper', epsilon, gramTolerance).loss;
    } else {
      const delta = uep.kind === 'clip' ? uep.delta : undefined;
      isPart = directGraphLoss(ys, yt, isKeep, epsilon, delta, gramTolerance).loss;
      icPart = directGraphLoss(ysT, ytT, strictUpper(c), epsilon, delta, gramTolerance).loss;
    }
    const total = tf.add(tf.mul(isPart, wIs), tf.mul(icPart, wIc)) as tf.Scalar;
    return { total, is: isPart, ic: icPart };
  }) as unknown as VrmLossResult;
}
