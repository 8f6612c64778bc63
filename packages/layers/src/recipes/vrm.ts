import {
  type VirtualViewOptions,
  type VrmLossOptions,
  virtualView,
  vrmLoss,
} from '@relkd/affinity-graph';
import { crossEntropy, kdLoss, RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { logits2d, teacherOf } from './shared';

/** Options of {@link recipes.vrm}. */
export interface VrmRecipeOptions {
  /** Weight of the VRM term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the real batch. Default 1. */
  ceWeight?: number;
  /** Also add the student's CE on the virtual view (labels are preserved). Default false. */
  virtualCe?: boolean;
  /** Options of `virtualView` (use label-preserving ops; the default op list has no flip). Seeds come from the step. */
  view?: Omit<VirtualViewOptions, 'seed'>;
  /** Options of `vrmLoss`. */
  loss?: VrmLossOptions;
  /** Also add Hinton KD on the real view with this weight. Default 0. */
  kdWeight?: number;
  /** KD temperature when `kdWeight > 0`. Default 4. */
  temperature?: number;
}

/** VRM: a virtual view per batch; matches the student's inter-sample and inter-class affinity graphs to the teacher's. */
export function vrm(options: VrmRecipeOptions = {}): DistillerParts {
  const {
    weight = 1,
    ceWeight = 1,
    virtualCe = false,
    view = {},
    loss = {},
    kdWeight = 0,
    temperature = 4,
  } = options;
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
