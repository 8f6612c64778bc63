import {
  buildStageModules,
  type MtkdLossOptions,
  mtkdLoss,
  type StageModules,
} from '@relkd/stage-distill';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillerParts } from '../Distiller';
import { stageShapes, teacherOf } from './shared';

/** Options of {@link recipes.mtkd}. */
export interface MtkdRecipeOptions {
  teacher: tfl.LayersModel;
  student: tfl.LayersModel;
  /** Layer names of the stage outputs (NHWC), shallow to deep. */
  stages: { teacher: readonly string[]; student: readonly string[] };
  numClasses: number;
  /** Options of `mtkdLoss` (weights, temperature, review pairs, mapping). */
  loss?: MtkdLossOptions;
  /** Seed of the adapters and stage heads. Default 0. */
  seed?: number;
  /**
   * Teacher responses of the earlier stages. `'final'` (default, ours): the frozen teacher has no
   * stage heads, so every student stage head distils from the teacher's final logits.
   */
  teacherStageLogits?: 'final';
}

/**
 * MTKD-SSR: channel adapters + stage heads for the student (trained with it), stage-wise channel
 * (SCD), response (SRD) and cross-stage review (CRD) distillation. CE is inside `mtkdLoss`.
 * Returns the built modules too.
 */
export function mtkd(options: MtkdRecipeOptions): DistillerParts & { stageModules: StageModules } {
  const { teacher, student, stages, numClasses, loss = {}, seed = 0 } = options;
  const built = buildStageModules({
    studentStages: stageShapes(student, stages.student),
    teacherStages: stageShapes(teacher, stages.teacher),
    numClasses,
    seed,
  });
  const mods = built.student;
  const teacherK = stages.teacher.length;
  return {
    stageModules: mods,
    ceWeight: 0,
    taps: { teacher: { features: stages.teacher }, student: { features: stages.student } },
    modules: [mods as never],
    terms: [
      {
        name: 'mtkd',
        loss: (ctx) => {
          const t = teacherOf(ctx, 'mtkd');
          const sf = stages.student.map((n) => ctx.student.features[n]!);
          const tf_ = stages.teacher.map((n) => t.features[n]!);
          const out = mods.apply(sf, { training: true });
          return mtkdLoss(
            {
              studentFeatures: out.features,
              teacherFeatures: tf_,
              studentStageLogits: [...out.logits, ctx.student.logits],
              teacherStageLogits: Array.from({ length: teacherK }, () => t.logits),
              labels: ctx.batch.y,
            },
            { mapping: built.mapping, ...loss },
          ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}
