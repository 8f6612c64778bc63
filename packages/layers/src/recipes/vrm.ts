/**
 * `@relkd/layers/recipes/vrm`: the VRM recipe (`vrm`, `VRM_RECIPE_UEP`), on `@relkd/affinity-graph` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { VRM_RECIPE_UEP, vrm } from '@relkd/layers/recipes/vrm';
 * ```
 * @module @relkd/layers/recipes/vrm
 */
import {
  type UepOption,
  type VirtualViewOptions,
  type VrmLossOptions,
  validateVirtualViewOptions,
  validateVrmLossOptions,
  virtualView,
  vrmLoss,
} from '@relkd/affinity-graph';
import { crossEntropy, kdLoss, RelkdError } from '@relkd/core';
import { assertNumber } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { logits2d, teacherOf } from './shared';

/**
 * Unreliable-edge pruning that {@link vrm} applies when `loss.uep` is not given: drop the
 * 10% of inter-sample edges with the largest joint student entropy (`H_m + H_n`). The spec asks
 * the recipe to enable UEP; kind and ratio are ours (the MNIST protocol's tuning kept 0.1, 0.3
 * tied; see docs/benchmarks/mnist.md). `vrmLoss` itself keeps
 * `uep = { kind: 'none' }` as its default.
 */
export const VRM_RECIPE_UEP: Readonly<UepOption> = Object.freeze({
  kind: 'jointEntropy',
  ratio: 0.1,
});

/**
 * The defaults of {@link vrm}'s scalar options: `weight` 1, `ceWeight` 1, `virtualCe` false,
 * `kdWeight` 0, `temperature` 4 (`loss.uep` defaults to {@link VRM_RECIPE_UEP}).
 */
export const VRM_RECIPE_DEFAULTS = Object.freeze({
  weight: 1,
  ceWeight: 1,
  virtualCe: false,
  kdWeight: 0,
  temperature: 4,
});

/** Options of {@link vrm}. */
export interface VrmRecipeOptions {
  /** Weight of the VRM term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the real batch. Default 1. */
  ceWeight?: number;
  /** Also add the student's CE on the virtual view (labels are preserved). Default false. */
  virtualCe?: boolean;
  /**
   * Options of `virtualView` (use label-preserving ops: the default op list has no flip; pass
   * `ops: DIGIT_SAFE_OPS` for digits). `magnitude` is on torchvision's RandAugment scale (0..30,
   * default 9). Seeds come from the step.
   */
  view?: Omit<VirtualViewOptions, 'seed'>;
  /**
   * Options of `vrmLoss`. `uep` defaults to {@link VRM_RECIPE_UEP} here (not `vrmLoss`'s
   * `{ kind: 'none' }`); pass `uep: { kind: 'none' }` to turn pruning off, or any other `uep` to
   * replace it.
   */
  loss?: VrmLossOptions;
  /** Also add Hinton KD on the real view with this weight. Default 0. */
  kdWeight?: number;
  /** KD temperature when `kdWeight > 0`. Default 4. */
  temperature?: number;
}

/**
 * VRM: a virtual view per batch (`virtualView`, seeded by the step); matches the student's
 * inter-sample and inter-class affinity graphs to the teacher's:
 * `ceWeight·CE + weight·vrmLoss(...).total [+ ceWeight·CE(virtual)] [+ kdWeight·T²·KL]`.
 * Unreliable-edge pruning is on by default ({@link VRM_RECIPE_UEP}); every option is checked when
 * the recipe is made (`INVALID_OPTION`).
 *
 * Defaults: `weight = 1`, `ceWeight = 1`, `virtualCe = false`, `view = {}` (virtualView's
 * defaults: 2 ops, magnitude 9 on the 0..30 scale), `loss = { uep: VRM_RECIPE_UEP }`,
 * `kdWeight = 0`, `temperature = 4`.
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, ...vrm({ view: { ops: DIGIT_SAFE_OPS } }) });
 * vrm({ loss: { uep: { kind: 'none' } } }); // pruning off
 * ```
 */
export function vrm(options: VrmRecipeOptions = {}): DistillerParts {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RelkdError('INVALID_OPTION', 'recipes.vrm: options must be an object.');
  }
  const {
    weight = VRM_RECIPE_DEFAULTS.weight,
    ceWeight = VRM_RECIPE_DEFAULTS.ceWeight,
    virtualCe = VRM_RECIPE_DEFAULTS.virtualCe,
    view = {},
    loss: lossOptions = {},
    kdWeight = VRM_RECIPE_DEFAULTS.kdWeight,
    temperature = VRM_RECIPE_DEFAULTS.temperature,
  } = options;
  const n = (key: string) => `recipes.vrm options.${key}`;
  assertNumber(weight, n('weight'), { min: 0 });
  assertNumber(ceWeight, n('ceWeight'), { min: 0 });
  assertNumber(kdWeight, n('kdWeight'), { min: 0 });
  assertNumber(temperature, n('temperature'), { min: 0, exclusiveMin: true });
  if (typeof virtualCe !== 'boolean') {
    throw new RelkdError('INVALID_OPTION', `\`${n('virtualCe')}\` must be a boolean.`, {
      name: n('virtualCe'),
      value: virtualCe,
    });
  }
  if (view !== null && typeof view === 'object' && 'seed' in view) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${n('view')}.seed\` is not allowed: the recipe seeds each view with the step.`,
      { name: `${n('view')}.seed` },
    );
  }
  validateVirtualViewOptions(view, n('view'));
  if (lossOptions === null || typeof lossOptions !== 'object') {
    throw new RelkdError('INVALID_OPTION', `\`${n('loss')}\` must be an object.`, {
      name: n('loss'),
    });
  }
  const loss: VrmLossOptions = { ...lossOptions, uep: lossOptions.uep ?? VRM_RECIPE_UEP };
  validateVrmLossOptions(loss, n('loss'));
  const terms: DistillerParts['terms'] = [
    {
      name: 'vrm',
      weight,
      loss: (ctx) => {
        const t = teacherOf(ctx, 'vrm');
        const sv = ctx.student.views.virtual;
        const tv = t.views.virtual;
        if (sv === undefined || tv === undefined) {
          throw new RelkdError(
            'INVALID_OPTION',
            "recipes.vrm: the batch has no `virtual` view (keep the recipe's batchTransform).",
          );
        }
        return vrmLoss(
          {
            student: { real: ctx.student.logits, virtual: sv.logits },
            teacher: { real: t.logits, virtual: tv.logits },
          },
          loss,
        ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>;
      },
    },
  ];
  if (virtualCe) {
    terms.push({
      name: 'virtualCe',
      weight: ceWeight,
      loss: (ctx) => {
        const sv = ctx.student.views.virtual!;
        return kdFreeCe(sv.logits, ctx.batch.y);
      },
    });
  }
  if (kdWeight > 0) {
    terms.push({
      name: 'kd',
      weight: kdWeight,
      loss: (ctx) =>
        kdLoss(logits2d(ctx.student.logits), logits2d(teacherOf(ctx, 'vrm').logits), {
          temperature,
        }),
    });
  }
  return {
    ceWeight,
    batchTransform: (batch, c) => ({
      ...batch,
      views: { ...batch.views, virtual: virtualView(batch.x, { ...view, seed: c.seed }) },
    }),
    terms,
  };
}

function kdFreeCe(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return crossEntropy(logits2d(logits), labels);
}
