/**
 * `@relkd/layers/recipes/corsd`: the CORSD recipe (`corsd`), on `@relkd/relation-network` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { corsd } from '@relkd/layers/recipes/corsd';
 * ```
 * @module @relkd/layers/recipes/corsd
 */
import { RelkdError } from '@relkd/core';
import { assertNumber } from '@relkd/core/internal';
import {
  buildRelationNetworks,
  type CorsdLossOptions,
  classBalancedOrder,
  corsdLoss,
  pairAccuracy,
  type RelationNetwork,
  relationStages,
  resolveCorsdLossOptions,
  type TripletIndices,
  tripletIndices,
} from '@relkd/relation-network';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BatchSampler, DistillerParts, TermResult } from '../Distiller';
import { stageShapes } from '../stageShapes';

/**
 * The defaults of {@link corsd}'s scalar options: `weight` 1, `seed` 0, `deepestProjection` false,
 * `balancedBatches` true, `logAccuracy` true, `jointPairBatch` true.
 */
export const CORSD_RECIPE_DEFAULTS = Object.freeze({
  weight: 1,
  seed: 0,
  deepestProjection: false,
  balancedBatches: true,
  logAccuracy: true,
  jointPairBatch: true,
});

/** Options of {@link corsd}. */
export interface CorsdRecipeOptions {
  student: tfl.LayersModel;
  /** Layer names of the student's stage outputs (NHWC), shallow to deepest (K >= 1). */
  stages: readonly string[];
  /** Classes (>= 2). */
  numClasses: number;
  /**
   * Options of `corsdLoss`: `temperature` (3), `kdWeight` (0.16), `ceWeight` (0.04),
   * `negKdWeight` (0.04), `negCeWeight` (0.01), `tripletWeight` (0.01), `margin` (1),
   * `scoreWeight` (0.01), `detachDeepest` (true), `tSquared` (false). Checked when the recipe is
   * made; unknown keys are rejected.
   */
  loss?: CorsdLossOptions;
  /** Weight of the CORSD term. Default 1. */
  weight?: number;
  /** Width of the relation networks' embedding (all but the deepest). Default 16·C₁ (CORSD). */
  embeddingWidth?: number;
  /**
   * Give the deepest relation network a 1×1 projection to `embeddingWidth` before pooling (ours,
   * not in the paper; the behaviour before issue 15). Default false: it pools its pair as is.
   */
  deepestProjection?: boolean;
  /** Seed of the relation networks. Default 0. */
  seed?: number;
  /**
   * Class-balanced P × K batches for tensor data (the recipe's `sampler`, see
   * `classBalancedOrder`), so every anchor has an in-batch positive and negative. Default true.
   * `false`: the Distiller's plain shuffle (anchors alone in their class pair with themselves).
   */
  balancedBatches?: boolean;
  /**
   * P, classes per batch. Default: `floor(batchSize / samplesPerClass)` capped at the classes
   * present. When both P and K are given, `P·K` must equal the fit's `batchSize`.
   */
  classesPerBatch?: number;
  /** K, images per class per batch (>= 2), used to derive P. Default 4. */
  samplesPerClass?: number;
  /**
   * Log each stage's pair accuracy (`corsd/acc1` … `corsd/accK`, the auxiliary classifier on the
   * positive pairs) and the backbone head's accuracy on the same images (`corsd/headAcc`).
   * Monitoring only: no gradient. Default true.
   */
  logAccuracy?: boolean;
  /**
   * Run each relation network once on the positive and negative pairs together (shared
   * BatchNorm statistics; `applyPairs`' `jointBatch`; ours). Default true: with separate calls
   * (`false`, the released code) the score head's BatchNorm gives both kinds the same mean
   * hidden activation and the relation scores barely separate.
   */
  jointPairBatch?: boolean;
}

/** What {@link corsd} returns: the Distiller parts plus the relation networks. */
export interface CorsdRecipe extends DistillerParts {
  /** The K relation networks, shallow -> deepest (in `modules`, trained with the student). */
  networks: RelationNetwork[];
  /**
   * Frees the relation networks. `Distiller.dispose` frees them too (they are among its
   * `modules`); calling both, in either order, is safe. A recipe that never reaches a Distiller
   * needs this call alone. The recipe and a Distiller built on it cannot be used afterwards.
   */
  dispose(): void;
}

const KNOWN = new Set([
  'student',
  'stages',
  'numClasses',
  'loss',
  'weight',
  'embeddingWidth',
  'deepestProjection',
  'seed',
  'balancedBatches',
  'classesPerBatch',
  'samplesPerClass',
  'logAccuracy',
  'jointPairBatch',
]);

function invalid(message: string): RelkdError {
  return new RelkdError('INVALID_OPTION', `recipes.corsd: ${message}`);
}

/**
 * CORSD: self-distillation (no teacher). Each batch is arranged into triplets; one relation
 * network per stage scores (anchor, positive) and (anchor, negative) pairs of stage features and
 * classifies them; the deepest network teaches the shallower ones. The student's own CE stays on.
 *
 * What the parts do: `sampler` orders tensor data into class-balanced batches of P classes × K
 * images (`classBalancedOrder` with the fit's `batchSize`, the distiller's seed and the epoch; an
 * epoch is `ceil(N / batchSize)` such batches, classes with fewer than K images repeat images);
 * `batchTransform` draws the triplets (`tripletIndices`, a fresh seed per step); the `corsd` term
 * is `corsdLoss` with parts `kd, ce, negKd, negCe, triplet, score` and, with `logAccuracy`, the
 * monitoring parts `acc1 … accK` and `headAcc` (not added to the loss).
 *
 * @throws RelkdError `INVALID_OPTION` when the recipe is made: unknown option, bad student /
 *   stages / numClasses / weight / widths / seed / P / K / flags, bad `loss` options.
 * @example
 * ```ts
 * const d = new Distiller({ student, optimizer: tf.train.adam(1e-3),
 *   ...corsd({ student, stages: ['s1', 's2', 's3'], numClasses: 10,
 *                      samplesPerClass: 4, loss: { tSquared: true } }) });
 * await d.fit({ x, y }, { epochs: 5, batchSize: 40 });        // 10 classes × 4 images per batch
 * ```
 */
export function corsd(options: CorsdRecipeOptions): CorsdRecipe {
  if (options == null || typeof options !== 'object') {
    throw invalid('options must be `{ student, stages, numClasses, … }`.');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalid(`unknown option \`${key}\`.`);
  }
  const {
    student,
    stages,
    numClasses,
    loss = {},
    weight = CORSD_RECIPE_DEFAULTS.weight,
    seed = CORSD_RECIPE_DEFAULTS.seed,
    deepestProjection = CORSD_RECIPE_DEFAULTS.deepestProjection,
    balancedBatches = CORSD_RECIPE_DEFAULTS.balancedBatches,
    classesPerBatch,
    samplesPerClass,
    logAccuracy = CORSD_RECIPE_DEFAULTS.logAccuracy,
    jointPairBatch = CORSD_RECIPE_DEFAULTS.jointPairBatch,
  } = options;
  if (!(student instanceof tfl.LayersModel)) throw invalid('`student` must be a tf.LayersModel.');
  if (
    !Array.isArray(stages) ||
    stages.length === 0 ||
    stages.some((s) => typeof s !== 'string' || s === '') ||
    new Set(stages).size !== stages.length
  ) {
    throw invalid('`stages` must list one or more distinct layer names, shallow to deepest.');
  }
  const checks: Array<[unknown, string, Parameters<typeof assertNumber>[2]]> = [
    [numClasses, 'numClasses', { min: 2, integer: true }],
    [weight, 'weight', { min: 0 }],
    [seed, 'seed', {}],
  ];
  if (options.embeddingWidth !== undefined)
    checks.push([options.embeddingWidth, 'embeddingWidth', { min: 1, integer: true }]);
  if (classesPerBatch !== undefined)
    checks.push([classesPerBatch, 'classesPerBatch', { min: 2, integer: true }]);
  if (samplesPerClass !== undefined)
    checks.push([samplesPerClass, 'samplesPerClass', { min: 2, integer: true }]);
  for (const [v, name, range] of checks) {
    try {
      assertNumber(v as number, name, range);
    } catch (e) {
      throw invalid((e as Error).message);
    }
  }
  if (classesPerBatch !== undefined && classesPerBatch > numClasses) {
    throw invalid(`\`classesPerBatch\` (${classesPerBatch}) exceeds numClasses (${numClasses}).`);
  }
  for (const [name, flag] of [
    ['deepestProjection', deepestProjection],
    ['balancedBatches', balancedBatches],
    ['logAccuracy', logAccuracy],
    ['jointPairBatch', jointPairBatch],
  ] as const) {
    if (typeof flag !== 'boolean') throw invalid(`\`${name}\` must be a boolean.`);
  }
  let lossOptions: CorsdLossOptions;
  try {
    lossOptions = resolveCorsdLossOptions(loss, true);
  } catch (e) {
    throw invalid(`loss: ${(e as Error).message}`);
  }
  const networks = buildRelationNetworks({
    stageShapes: stageShapes(student, stages),
    numClasses,
    seed,
    deepestProjection,
    ...(options.embeddingWidth === undefined ? {} : { embeddingWidth: options.embeddingWidth }),
  });
  const sampler: BatchSampler | undefined = balancedBatches
    ? ({ labels, batchSize, seed: s, epoch }) =>
        classBalancedOrder(labels, {
          batchSize,
          seed: s,
          epoch,
          ...(classesPerBatch === undefined ? {} : { classesPerBatch }),
          ...(samplesPerClass === undefined ? {} : { samplesPerClass }),
        })
    : undefined;
  return {
    networks,
    dispose() {
      // Module.dispose is idempotent: the Distiller may already have freed the networks.
      for (const network of networks) network.dispose();
    },
    ceWeight: 1,
    taps: { student: { features: stages } },
    modules: networks as never[],
    ...(sampler === undefined ? {} : { sampler }),
    batchTransform: (batch, c) => ({
      ...batch,
      data: { ...batch.data, triplet: tripletIndices(batch.y, { seed: c.seed, numClasses }) },
    }),
    terms: [
      {
        name: 'corsd',
        weight,
        loss: (ctx) => {
          const t = ctx.batch.data.triplet as TripletIndices;
          const feats = stages.map((n) => ctx.student.features[n] as tf.Tensor4D);
          const st = relationStages(networks, feats, t, {
            training: true,
            jointBatch: jointPairBatch,
          });
          const parts: Record<string, tf.Scalar> = {
            ...corsdLoss(
              { stages: st, anchorLabels: ctx.batch.y, negativeLabels: t.negativeLabels },
              lossOptions,
            ),
          };
          if (logAccuracy) {
            pairAccuracy(st, ctx.batch.y).forEach((a, k) => {
              parts[`acc${k + 1}`] = a;
            });
            const head = ctx.student.logits as tf.Tensor2D;
            parts.headAcc = tf.mean(
              tf.cast(tf.equal(tf.argMax(head, 1), ctx.batch.y), 'float32'),
            ) as tf.Scalar;
          }
          return parts as TermResult;
        },
      },
    ],
  };
}
