import {
  klDivergence,
  oneHotFloat,
  RelkdError,
  softCrossEntropy,
  stopGradient,
  type TensorInput,
  type ValidateMode,
  weightedSum,
} from '@relkd/core';
import {
  assertNumber,
  assertShape,
  checkFinite,
  ensureGradients,
  formatShape,
  toLabels,
  toLogits,
  toTensor,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { softTargets } from './negativePairTargets';

/** The relation-network outputs for one kind of pair: `score [B, 1]`, `logits [B, C]`. */
export interface CorsdPairInput {
  score: tf.Tensor | TensorInput;
  logits: tf.Tensor | TensorInput;
}

/** One stage's outputs for the positive and the negative pairs (a {@link RelationPairOutput} fits). */
export interface CorsdStageInput {
  positive: CorsdPairInput;
  negative: CorsdPairInput;
}

/** Inputs of {@link corsdLoss}. */
export interface CorsdLossInputs {
  /** The K stages' relation-network outputs, shallow -> deepest (the last one teaches). K >= 1. */
  stages: readonly CorsdStageInput[];
  /** int32 `[B]` labels of the anchors (= of the positives). */
  anchorLabels: tf.Tensor1D | TensorInput;
  /** int32 `[B]` labels of the negatives ({@link TripletIndices.negativeLabels}). */
  negativeLabels: tf.Tensor1D | TensorInput;
}

/** Options of {@link corsdLoss}; every default is the released code's. */
export interface CorsdLossOptions {
  /** Softmax temperature `T > 0` of the D and SoftCE terms. Default `3`. */
  temperature?: number;
  /** Weight of `kd` (positive-pair logit mimicry). Default `0.16`. */
  kdWeight?: number;
  /** Weight of `ce` (auxiliary classifiers on positive pairs, hard anchor labels). Default `0.04`. */
  ceWeight?: number;
  /** Weight of `negKd` (negative-pair logit mimicry). Default `0.04`. */
  negKdWeight?: number;
  /** Weight of `negCe` (auxiliary classifiers on negative pairs, soft ½/½ targets). Default `0.01`. */
  negCeWeight?: number;
  /** Weight of `triplet` (score hinge). Default `0.01`. */
  tripletWeight?: number;
  /** Hinge margin (>= 0). Default `1`. */
  margin?: number;
  /** Weight of `score` (shallow scores mimic the deepest). Default `0.01`. */
  scoreWeight?: number;
  /**
   * Stop the gradient of the deepest stage's logits and scores where they serve as targets
   * (the D and score-mimic terms), so the deepest network only learns from its own CE and
   * triplet terms. Default `true` (ours; the released code lets the gradient through).
   */
  detachDeepest?: boolean;
  /**
   * Multiply the two D terms (`kd`, `negKd`, the parts as returned) by `T²`, Hinton's scale that
   * keeps their gradient magnitude independent of T (`∂D/∂u = (p(u_k) − p(u_K))·T/B` then).
   * Default `false`: no T², the released code's scale (ours as an option).
   */
  tSquared?: boolean;
  /** Input checking; `'full'` also reads the data (label ranges, finiteness). Default `'shapes'`. */
  validate?: ValidateMode;
}

/** The parts of {@link corsdLoss}: unweighted sums over stages, and the weighted total. */
export type CorsdLossResult = {
  total: tf.Scalar;
  /** `Σ_{k<K} D(u⁺_k, u⁺_K)` (times `T²` with `tSquared`). */
  kd: tf.Scalar;
  /** `Σ_k CE(u⁺_k, y_anchor)`. */
  ce: tf.Scalar;
  /** `Σ_{k<K} D(u⁻_k, u⁻_K)` (times `T²` with `tSquared`). */
  negKd: tf.Scalar;
  /** `Σ_k SoftCE(u⁻_k, q)`. */
  negCe: tf.Scalar;
  /** `Σ_k mean_b max(0, s⁺_k − s⁻_k + margin)`. */
  triplet: tf.Scalar;
  /** `Σ_{k<K} [mean_b (s⁺_k − sg(s⁺_K))² + mean_b (s⁻_k − sg(s⁻_K))²]`. */
  score: tf.Scalar;
};

/** {@link CorsdLossOptions} with every default filled in (see {@link resolveCorsdLossOptions}). */
export type ResolvedCorsdLossOptions = Required<CorsdLossOptions>;

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'temperature',
  'kdWeight',
  'ceWeight',
  'negKdWeight',
  'negCeWeight',
  'tripletWeight',
  'margin',
  'scoreWeight',
  'detachDeepest',
  'tSquared',
  'validate',
]);

/**
 * Validates {@link corsdLoss} options and fills in the defaults (`temperature 3`, `kdWeight 0.16`,
 * `ceWeight 0.04`, `negKdWeight 0.04`, `negCeWeight 0.01`, `tripletWeight 0.01`, `margin 1`,
 * `scoreWeight 0.01`, `detachDeepest true`, `tSquared false`, `validate 'shapes'`). Reads no
 * tensor. `corsdLoss` calls it on every call; recipes call it once when they are made.
 *
 * @param strict also reject keys that are not options (typos). Default `false`.
 * @throws RelkdError `INVALID_OPTION` (T ≤ 0, non-finite weight, margin < 0, non-boolean
 *   `detachDeepest` / `tSquared`, bad `validate`, unknown key when `strict`)
 * @example
 * ```ts
 * resolveCorsdLossOptions({ tSquared: true }).temperature; // 3
 * ```
 */
export function resolveCorsdLossOptions(
  options: CorsdLossOptions = {},
  strict = false,
): ResolvedCorsdLossOptions {
  if (options == null || typeof options !== 'object') {
    throw new RelkdError('INVALID_OPTION', '`options` must be an object of corsdLoss options.');
  }
  if (strict) {
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) {
        throw new RelkdError(
          'INVALID_OPTION',
          `Unknown corsdLoss option \`${key}\`; known: ${[...OPTION_KEYS].join(', ')}.`,
          { name: key },
        );
      }
    }
  }
  const {
    temperature = 3,
    kdWeight = 0.16,
    ceWeight = 0.04,
    negKdWeight = 0.04,
    negCeWeight = 0.01,
    tripletWeight = 0.01,
    margin = 1,
    scoreWeight = 0.01,
    detachDeepest = true,
    tSquared = false,
    validate = 'shapes',
  } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  const weights = { kdWeight, ceWeight, negKdWeight, negCeWeight, tripletWeight, scoreWeight };
  for (const [name, w] of Object.entries(weights)) assertNumber(w, `options.${name}`);
  assertNumber(margin, 'options.margin', { min: 0 });
  for (const [name, flag] of [
    ['detachDeepest', detachDeepest],
    ['tSquared', tSquared],
  ] as const) {
    if (typeof flag !== 'boolean') {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`options.${name}\` must be a boolean, got ${String(flag)}.`,
      );
    }
  }
  if (validate !== 'shapes' && validate !== 'full') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.validate\` must be 'shapes' or 'full', got ${String(validate)}.`,
    );
  }
  return {
    temperature,
    kdWeight,
    ceWeight,
    negKdWeight,
    negCeWeight,
    tripletWeight,
    margin,
    scoreWeight,
    detachDeepest,
    tSquared,
    validate,
  };
}

/** `x` stacked `n` times along the rows (a concat: the wasm backend's `Tile` is far slower). */
function repeatRows(x: tf.Tensor2D, n: number): tf.Tensor2D {
  return n === 1 ? x : tf.concat(new Array<tf.Tensor2D>(n).fill(x), 0);
}

/**
 * CORSD (class-oriented relational self distillation) loss over the K stages' relation networks.
 *
 * With `u±_k [B, C]` the auxiliary logits and `s±_k [B, 1]` the scores of stage k for the
 * positive (+) and negative (−) pairs, `sg` = stopGradient when `detachDeepest`:
 * ```
 * D(u, v)      = (1/B) Σ_b KL(softmax(sg(v_b)/T) ‖ softmax(u_b/T))   (× T² with tSquared)
 * SoftCE(u, q) = −(1/B) Σ_b Σ_c q_bc · logSoftmax(u_b/T)_c,   q = ½(onehot(y_anchor) + onehot(y_neg))
 * kd      = Σ_{k<K} D(u⁺_k, u⁺_K)          ce    = Σ_k CE(u⁺_k, y_anchor)       (T = 1)
 * negKd   = Σ_{k<K} D(u⁻_k, u⁻_K)          negCe = Σ_k SoftCE(u⁻_k, q)
 * triplet = Σ_k mean_b max(0, s⁺_k − s⁻_k + margin)
 * score   = Σ_{k<K} [mean_b (s⁺_k − sg(s⁺_K))² + mean_b (s⁻_k − sg(s⁻_K))²]
 * total   = kdWeight·kd + ceWeight·ce + negKdWeight·negKd + negCeWeight·negCe
 *         + tripletWeight·triplet + scoreWeight·score
 * ```
 * The deepest stage's own D terms `D(u_K, u_K)` are identically 0 and are not computed (so they
 * are exactly 0 with an exactly zero gradient). Defaults (released code): `T = 3`,
 * `kdWeight 0.16, ceWeight 0.04, negKdWeight 0.04, negCeWeight 0.01, tripletWeight 0.01,
 * margin 1, scoreWeight 0.01`, `detachDeepest = true`, `tSquared = false` (no T², the released
 * scale; `true` multiplies `kd` and `negKd` by `T²`). The score is a learned dissimilarity:
 * the hinge pushes `s⁺` below `s⁻`. The backbone's own cross-entropy on the images is the
 * caller's to add.
 *
 * Shapes: every stage `score [B, 1]`, `logits [B, C]` (float32, same B and C everywhere), labels
 * int32 `[B]` in `[0, C)`. Vectorised over stages, batch and classes (kernel count independent
 * of B and C); reads no tensor data unless `validate: 'full'`.
 *
 * @throws RelkdError `INVALID_OPTION`, `RANK_MISMATCH`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`,
 *   `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`, `NON_FINITE` (validate 'full')
 * @example
 * ```ts
 * const t = tripletIndices(labels, { seed: step });
 * const stages = relationStages(nets, stageFeatures, t, { training: true });
 * const { total } = corsdLoss({ stages, anchorLabels: labels, negativeLabels: t.negativeLabels });
 * // loss = crossEntropy(backboneLogits, labels) + total
 * ```
 */
export function corsdLoss(
  inputs: CorsdLossInputs,
  options: CorsdLossOptions = {},
): CorsdLossResult {
  const {
    temperature: T,
    kdWeight,
    ceWeight,
    negKdWeight,
    negCeWeight,
    tripletWeight,
    margin,
    scoreWeight,
    detachDeepest,
    tSquared,
    validate,
  } = resolveCorsdLossOptions(options);
  if (inputs == null || typeof inputs !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      '`inputs` must be `{ stages, anchorLabels, negativeLabels }`.',
    );
  }
  const { stages } = inputs;
  if (!Array.isArray(stages) || stages.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`inputs.stages` must list at least one stage (shallow -> deepest).',
      {
        name: 'stages',
      },
    );
  }
  ensureGradients();
  return tf.tidy(() => {
    const K = stages.length;
    const posLogits: tf.Tensor2D[] = [];
    const negLogits: tf.Tensor2D[] = [];
    const posScores: tf.Tensor2D[] = [];
    const negScores: tf.Tensor2D[] = [];
    let b = 0;
    let c = 0;
    stages.forEach((stage, k) => {
      const where = `stages[${k}]`;
      if (
        stage == null ||
        typeof stage !== 'object' ||
        stage.positive == null ||
        stage.negative == null
      ) {
        throw new RelkdError(
          'INVALID_OPTION',
          `\`${where}\` must be \`{ positive: { score, logits }, negative: { score, logits } }\`.`,
        );
      }
      const up = toLogits(stage.positive.logits, `${where}.positive.logits`);
      if (k === 0) [b, c] = up.shape;
      for (const [pair, list, scores] of [
        ['positive', posLogits, posScores],
        ['negative', negLogits, negScores],
      ] as const) {
        const name = `${where}.${pair}`;
        const u = pair === 'positive' ? up : toLogits(stage.negative.logits, `${name}.logits`);
        if (u.shape[0] !== b || u.shape[1] !== c) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `\`${name}.logits\` must have shape [${b}, ${c}] like \`stages[0].positive.logits\`, got ${formatShape(u.shape)}.`,
            { name: `${name}.logits`, expected: [b, c], actual: u.shape },
          );
        }
        const s = toTensor(stage[pair].score, `${name}.score`);
        assertShape(s, [b, 1], `${name}.score`);
        checkFinite(u, `${name}.logits`, validate);
        checkFinite(s, `${name}.score`, validate);
        list.push(u);
        scores.push(s as tf.Tensor2D);
      }
    });
    const ya = toLabels(inputs.anchorLabels, c, b, 'anchorLabels', validate);
    const yn = toLabels(inputs.negativeLabels, c, b, 'negativeLabels', validate);
    const temper = (u: tf.Tensor): tf.Tensor => (T === 1 ? u : tf.div(u, T));
    const target = <X extends tf.Tensor>(x: X): X => (detachDeepest ? stopGradient(x) : x);

    const uPos = tf.stack(posLogits) as tf.Tensor3D; // [K, B, C]
    const uNeg = tf.stack(negLogits) as tf.Tensor3D;
    const sPos = tf.stack(posScores) as tf.Tensor3D; // [K, B, 1]
    const sNeg = tf.stack(negScores) as tf.Tensor3D;

    // D(u_k, u_K) summed over the shallow stages k < K. With the deepest stage detached (the
    // default) this is core's klDivergence on the stacked stages (a fused kernel on cpu/wasm).
    const mimic = (u: tf.Tensor3D, deepest: tf.Tensor2D): tf.Scalar => {
      if (K === 1) return tf.scalar(0);
      const shallow = tf.slice(u, [0, 0, 0], [K - 1, b, c]);
      if (detachDeepest) {
        const flat = tf.reshape(shallow, [(K - 1) * b, c]) as tf.Tensor2D;
        const targets = repeatRows(deepest, K - 1);
        return tf.mul(klDivergence(flat, targets, { temperature: T }), K - 1) as tf.Scalar;
      }
      const logQ = tf.logSoftmax(temper(shallow));
      const logP = tf.logSoftmax(temper(deepest));
      return tf.div(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ))), b) as tf.Scalar;
    };
    const scaleD = (d: tf.Scalar): tf.Scalar =>
      tSquared && K > 1 ? (tf.mul(d, T * T) as tf.Scalar) : d;
    const kd = scaleD(mimic(uPos, posLogits[K - 1]!));
    const negKd = scaleD(mimic(uNeg, negLogits[K - 1]!));

    // Σ_k CE(u_k, y) / b and Σ_k CE_T(u_k, q) / b as one batch-mean soft CE over the K·b rows.
    const stacked = (u: tf.Tensor3D) => tf.reshape(u, [K * b, c]) as tf.Tensor2D;
    const perStage = (t: tf.Tensor2D) => repeatRows(t, K);
    const onehotA = oneHotFloat(ya, c);
    const ce = tf.mul(softCrossEntropy(stacked(uPos), perStage(onehotA)), K) as tf.Scalar;
    const q = softTargets(ya, yn, c);
    const negCe = tf.mul(
      softCrossEntropy(stacked(uNeg), perStage(q), { temperature: T }),
      K,
    ) as tf.Scalar;

    const triplet = tf.div(tf.sum(tf.relu(tf.add(tf.sub(sPos, sNeg), margin))), b) as tf.Scalar;

    let score: tf.Scalar;
    if (K === 1) {
      score = tf.scalar(0);
    } else {
      const sq = (s: tf.Tensor3D, deepest: tf.Tensor2D): tf.Tensor =>
        tf.sum(tf.square(tf.sub(tf.slice(s, [0, 0, 0], [K - 1, b, 1]), target(deepest))));
      score = tf.div(
        tf.add(sq(sPos, posScores[K - 1]!), sq(sNeg, negScores[K - 1]!)),
        b,
      ) as tf.Scalar;
    }
    const parts = { kd, ce, negKd, negCe, triplet, score };
    return weightedSum(parts, {
      kd: kdWeight,
      ce: ceWeight,
      negKd: negKdWeight,
      negCe: negCeWeight,
      triplet: tripletWeight,
      score: scoreWeight,
    }) as CorsdLossResult;
  });
}
