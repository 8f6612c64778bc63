import { mixup, type StkdLossOptions, stkdLoss } from '@relkd/mixup-similarity';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { teacherOf } from './shared';

/** Options of {@link recipes.stkd}. */
export interface StkdRecipeOptions {
  /** Number of classes (for the mixed targets). */
  numClasses: number;
  /** Mixup's Beta(α, α) parameter. Default 1. */
  alpha?: number;
  /** One λ per sample instead of per batch. Default false. */
  perSample?: boolean;
  /** Options of `stkdLoss` (temperature 4, ceWeight 0.1, kdWeight 0.9, targetMode 'teacherOnMixed'). */
  loss?: StkdLossOptions;
  /** Weight of the STKD term. Default 1. */
  weight?: number;
}

/**
 * STKD: mixup virtual samples each batch; the student learns the mixed labels (CE inside the
 * loss) and the teacher's distribution on the mixed images. The student's plain CE is off.
 */
export function stkd(options: StkdRecipeOptions): DistillerParts {
  const { numClasses, alpha = 1, perSample = false, loss = {}, weight = 1 } = options;
  const mode = loss.targetMode ?? 'teacherOnMixed';
  return {
    ceWeight: 0,
    batchTransform: (batch, c) => {
      const m = mixup(batch.x, batch.y, { numClasses, alpha, perSample, seed: c.seed });
      return {
        ...batch,
        x: m.inputs,
        ...(mode === 'mixedTeacherSoft'
          ? { teacherViews: { ...batch.teacherViews, clean: batch.x } }
          : {}),
        data: { ...batch.data, mixup: m },
      };
    },
    terms: [
      {
        name: 'stkd',
        weight,
        loss: (ctx) => {
          const t = teacherOf(ctx, 'stkd');
          const m = ctx.batch.data.mixup as ReturnType<typeof mixup>;
          const teacher =
            mode === 'mixedTeacherSoft'
              ? { clean: t.views.clean!.logits, lambda: m.lambda, permutation: m.permutation }
              : t.logits;
          return stkdLoss(
            { student: ctx.student.logits, teacher, targets: m.targets },
            loss,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}
