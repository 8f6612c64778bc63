import { kdLoss } from '@relkd/core';
import type { DistillerParts } from '../Distiller';
import { logits2d, teacherOf } from './shared';

/** Options of {@link recipes.kd}. */
export interface KdRecipeOptions {
  /** Softmax temperature. Default 4. */
  temperature?: number;
  /** Weight of the KD term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the labels. Default 1. */
  ceWeight?: number;
}

/** Hinton KD: `ceWeight·CE + weight·T²·KL(teacher_T ‖ student_T)`. */
export function kd(options: KdRecipeOptions = {}): DistillerParts {
  const { temperature = 4, weight = 1, ceWeight = 1 } = options;
  return {
    ceWeight,
    terms: [
      {
        name: 'kd',
        weight,
        loss: (ctx) =>
          kdLoss(logits2d(ctx.student.logits), logits2d(teacherOf(ctx, 'kd').logits), {
            temperature,
          }),
      },
    ],
  };
}
