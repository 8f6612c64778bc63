import {
  buildRelationNetworks,
  type CorsdLossOptions,
  corsdLoss,
  type RelationNetwork,
  relationStages,
  type TripletIndices,
  tripletIndices,
} from '@relkd/relation-network';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillerParts } from '../Distiller';
import { stageShapes } from './shared';

/** Options of {@link recipes.corsd}. */
export interface CorsdRecipeOptions {
  student: tfl.LayersModel;
  /** Layer names of the student's stage outputs (NHWC), shallow to deepest. */
  stages: readonly string[];
  numClasses: number;
  /** Options of `corsdLoss` (CORSD's released weights by default). */
  loss?: CorsdLossOptions;
  /** Weight of the CORSD term. Default 1. */
  weight?: number;
  /** Width of the relation networks' embedding. Default 16·C₁ (CORSD). */
  embeddingWidth?: number;
  /** Seed of the relation networks. Default 0. */
  seed?: number;
}

/**
 * CORSD: self-distillation (no teacher). Each batch is arranged into triplets; one relation
 * network per stage scores (anchor, positive) and (anchor, negative) pairs of stage features and
 * classifies them; the deepest network teaches the shallower ones. The student's own CE stays on.
 * Returns the relation networks too.
 */
export function corsd(
  options: CorsdRecipeOptions,
): DistillerParts & { networks: RelationNetwork[] } {
  const { student, stages, numClasses, loss = {}, weight = 1, seed = 0 } = options;
  const networks = buildRelationNetworks({
    stageShapes: stageShapes(student, stages),
    numClasses,
    seed,
    ...(options.embeddingWidth === undefined ? {} : { embeddingWidth: options.embeddingWidth }),
  });
  return {
    networks,
    ceWeight: 1,
    taps: { student: { features: stages } },
    modules: networks as never[],
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
          const st = relationStages(networks, feats, t, { training: true });
          return corsdLoss(
            { stages: st, anchorLabels: ctx.batch.y, negativeLabels: t.negativeLabels },
            loss,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}
