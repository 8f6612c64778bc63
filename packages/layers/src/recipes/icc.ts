/**
 * `@relkd/layers/recipes/icc`: the ICC recipes (`icc` for the student, `iccTeacher` for the expressive teacher), on `@relkd/class-correlation` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { icc, iccTeacher } from '@relkd/layers/recipes/icc';
 * ```
 * @module @relkd/layers/recipes/icc
 */
import {
  ClassCorrelationTracker,
  type IccStudentLossOptions,
  iccStudentLoss,
  type TeacherRegularizerOptions,
  teacherRegularizer,
} from '@relkd/class-correlation';
import { RelkdError } from '@relkd/core';
import { assertNumber, assertOneOf, resolveValidate } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { teacherOf } from './shared';

/** The defaults of {@link icc}'s own option: `weight` 1 (the loss options default as in `iccStudentLoss`). */
export const ICC_RECIPE_DEFAULTS = Object.freeze({ weight: 1 });

/** The defaults of {@link iccTeacher}'s own options: `trackerTemperature` 1, `trackerLogits` `'inference'`. */
export const ICC_TEACHER_RECIPE_DEFAULTS = Object.freeze({
  trackerTemperature: 1,
  trackerLogits: 'inference' as const,
});

/** Options of {@link icc}. */
export type IccRecipeOptions = IccStudentLossOptions & {
  /** Weight of the ICC student term (which contains CE, KD and the correlation mimic). Default 1. */
  weight?: number;
};

const NORMALIZE = ['frobenius', 'batch', 'none'] as const;

function assertObject(options: unknown, method: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `recipes.${method}: options must be an object, got ${options === null ? 'null' : typeof options}.`,
    );
  }
}

/** `recipes.<method> options.<key>` must be finite and > 0 (when given). */
function positive(value: unknown, name: string): void {
  if (value !== undefined) assertNumber(value, name, { min: 0, exclusiveMin: true });
}

/** `recipes.<method> options.<key>` must be finite and >= 0 (when given). */
function nonNegative(value: unknown, name: string): void {
  if (value !== undefined) assertNumber(value, name, { min: 0 });
}

/**
 * ICC (student side): `CE + kdWeight·T²·KL(T) + iccWeight·‖G_T/‖G_T‖ − G_S/‖G_S‖‖²_F`, with
 * `G = softmax(Z/τ)ᵀ softmax(Z/τ)` at `τ = correlationTemperature`, which defaults to the KD
 * `temperature` (4); pass `correlationTemperature: 1` for the pre-0.2 behaviour. Pair it with a
 * teacher trained with {@link iccTeacher} (the "expressive teacher"). Options are
 * `iccStudentLoss`'s plus `weight`, checked when the recipe is made (`INVALID_OPTION`).
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, ...icc({ temperature: 4 }) });
 * ```
 */
export function icc(options: IccRecipeOptions = {}): DistillerParts {
  assertObject(options, 'icc');
  const { weight = ICC_RECIPE_DEFAULTS.weight, ...loss } = options;
  const n = (key: string) => `recipes.icc options.${key}`;
  nonNegative(weight, n('weight'));
  positive(loss.temperature, n('temperature'));
  positive(loss.correlationTemperature, n('correlationTemperature'));
  nonNegative(loss.kdWeight, n('kdWeight'));
  nonNegative(loss.iccWeight, n('iccWeight'));
  if (loss.normalize !== undefined) assertOneOf(loss.normalize, NORMALIZE, n('normalize'));
  resolveValidate(loss.validate, n('validate'));
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

/** Options of {@link iccTeacher}. */
export type IccTeacherRecipeOptions = TeacherRegularizerOptions & {
  /** Number of classes `C` (integer >= 2). */
  numClasses: number;
  /** Temperature `τ_A > 0` of the tracked class probabilities (the tracker's `temperature`). Default 1. */
  trackerTemperature?: number;
  /**
   * Which logits feed the tracker. `'inference'` (default): after each optimizer step, the model
   * just updated runs on the step's batch in inference mode (dropout off, BatchNorm moving
   * statistics), outside the gradient closure, through the Distiller's `afterUpdate` hook (one
   * extra inference forward pass per step). `'training'`: the training-mode logits of the
   * gradient closure, before the update (the pre-0.2 behaviour; no extra pass, but dropout noise
   * reaches the targets).
   */
  trackerLogits?: 'inference' | 'training';
};

/**
 * ICC (teacher side): trains the model passed as `student` (no teacher) with
 * `(1 − weight)·CE + weight·softCE(logits, A[y])`, where `A` is a {@link ClassCorrelationTracker}
 * (at `τ_A = trackerTemperature`) fed with the correctly classified training samples and
 * refreshed every epoch (`onEpochEnd`). By default the tracker reads inference-mode logits after
 * each update (`trackerLogits: 'inference'`). Returns the tracker too (its state is saved with the
 * distiller's modules; measure its class correlation with `offDiagonalMass(tracker.matrix())`).
 * Options are checked when the recipe is made (`INVALID_OPTION`).
 *
 * @example
 * ```ts
 * const recipe = iccTeacher({ numClasses: 10, weight: 0.5, trackerTemperature: 1 });
 * const trainer = new Distiller({ student: teacherModel, ...recipe });
 * await trainer.fit({ x, y }, { epochs: 10, batchSize: 64 });
 * ```
 */
export function iccTeacher(
  options: IccTeacherRecipeOptions,
): DistillerParts & { tracker: ClassCorrelationTracker } {
  assertObject(options, 'iccTeacher');
  const {
    numClasses,
    trackerTemperature = ICC_TEACHER_RECIPE_DEFAULTS.trackerTemperature,
    trackerLogits = ICC_TEACHER_RECIPE_DEFAULTS.trackerLogits,
    ...reg
  } = options;
  const n = (key: string) => `recipes.iccTeacher options.${key}`;
  assertNumber(numClasses, n('numClasses'), { min: 2, integer: true });
  positive(trackerTemperature, n('trackerTemperature'));
  assertOneOf(trackerLogits, ['inference', 'training'] as const, n('trackerLogits'));
  if (reg.weight !== undefined) assertNumber(reg.weight, n('weight'), { min: 0, max: 1 });
  if (reg.kind !== undefined) assertOneOf(reg.kind, ['ols', 'gram'] as const, n('kind'));
  if (reg.gramNormalize !== undefined)
    assertOneOf(reg.gramNormalize, NORMALIZE, n('gramNormalize'));
  resolveValidate(reg.validate, n('validate'));
  const tracker = new ClassCorrelationTracker({ numClasses, temperature: trackerTemperature });
  const inference = trackerLogits === 'inference';
  return {
    tracker,
    ceWeight: 0,
    modules: [tracker as never],
    hooks: {
      onEpochEnd: () => tracker.endEpoch(),
      ...(inference
        ? {
            afterUpdate: ({ batch, runStudent }) =>
              tracker.accumulate(runStudent(batch.x).logits, batch.y),
          }
        : {}),
    },
    terms: [
      {
        name: 'iccTeacher',
        loss: (ctx) => {
          if (!inference) tracker.accumulate(ctx.student.logits, ctx.batch.y);
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
