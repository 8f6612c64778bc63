import {
  ClassCorrelationTracker,
  type IccStudentLossOptions,
  iccStudentLoss,
  type TeacherRegularizerOptions,
  teacherRegularizer,
} from '@relkd/class-correlation';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { teacherOf } from './shared';

/** Options of {@link recipes.icc}. */
export type IccRecipeOptions = IccStudentLossOptions & {
  /** Weight of the ICC student term (which contains CE, KD and the correlation mimic). Default 1. */
  weight?: number;
};

/**
 * ICC (student side): `CE + kdWeight·KD + iccWeight·‖G_T/‖G_T‖ − G_S/‖G_S‖‖²`. Pair it with a
 * teacher trained with {@link recipes.iccTeacher} (the "expressive teacher").
 */
export function icc(options: IccRecipeOptions = {}): DistillerParts {
  const { weight = 1, ...loss } = options;
  return {
    ceWeight: 0,
    terms: [
      {
        name: 'icc',
        weight,
        loss: (ctx) =>
          iccStudentLoss(
            {
              student: ctx.student.logits,
              teacher: teacherOf(ctx, 'icc').logits,
              labels: ctx.batch.y,
            },
            loss,
          ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>,
      },
    ],
  };
}

/** Options of {@link recipes.iccTeacher}. */
export type IccTeacherRecipeOptions = TeacherRegularizerOptions & {
  numClasses: number;
  /** Temperature of the tracked class probabilities. Default 1. */
  trackerTemperature?: number;
};

/**
 * ICC (teacher side): trains the model passed as `student` (no teacher) with
 * `(1 − weight)·CE + weight·softCE(logits, A[y])`, where `A` is a {@link ClassCorrelationTracker}
 * updated from the correctly classified training samples and refreshed every epoch.
 * Returns the tracker too (its state is saved with the distiller's modules).
 */
export function iccTeacher(
  options: IccTeacherRecipeOptions,
): DistillerParts & { tracker: ClassCorrelationTracker } {
  const { numClasses, trackerTemperature = 1, ...reg } = options;
  const tracker = new ClassCorrelationTracker({ numClasses, temperature: trackerTemperature });
  return {
    tracker,
    ceWeight: 0,
    modules: [tracker as never],
    hooks: { onEpochEnd: () => tracker.endEpoch() },
    terms: [
      {
        name: 'iccTeacher',
        loss: (ctx) => {
          tracker.accumulate(ctx.student.logits, ctx.batch.y);
          return teacherRegularizer(
            { logits: ctx.student.logits, labels: ctx.batch.y, tracker },
            reg,
          ) as unknown as {
            total: tf.Scalar;
          } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
}
