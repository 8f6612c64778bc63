/**
 * `@relkd/layers/recipes/stkd`: the STKD recipe (`stkd`), on `@relkd/mixup-similarity` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { stkd } from '@relkd/layers/recipes/stkd';
 * ```
 * @module @relkd/layers/recipes/stkd
 */
import { RelkdError } from '@relkd/core';
import { assertNumber, assertOneOf, resolveValidate } from '@relkd/core/internal';
import { mixup, type StkdLossOptions, stkdLoss } from '@relkd/mixup-similarity';
import type * as tf from '@tensorflow/tfjs-core';
import type { DistillerParts } from '../Distiller';
import { teacherOf } from './shared';

/** The defaults of {@link stkd}'s options: `alpha` 1, `perSample` false, `weight` 1. */
export const STKD_RECIPE_DEFAULTS = Object.freeze({ alpha: 1, perSample: false, weight: 1 });

/** Options of {@link stkd}. */
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

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Checks the recipe's options when it is made (`INVALID_OPTION`), before any batch. */
function checkOptions(options: StkdRecipeOptions): void {
  if (!isObject(options)) {
    throw new RelkdError(
      'INVALID_OPTION',
      'recipes.stkd: options { numClasses } are required (an object).',
    );
  }
  const n = (key: string) => `recipes.stkd options.${key}`;
  const { numClasses, alpha, perSample, loss, weight } = options;
  assertNumber(numClasses, n('numClasses'), { min: 2, integer: true });
  if (alpha !== undefined) assertNumber(alpha, n('alpha'), { min: 0 });
  if (perSample !== undefined && typeof perSample !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${n('perSample')}\` must be a boolean, got ${String(perSample)}.`,
    );
  }
  if (weight !== undefined) assertNumber(weight, n('weight'), { min: 0 });
  if (loss === undefined) return;
  if (!isObject(loss)) {
    throw new RelkdError('INVALID_OPTION', `\`${n('loss')}\` must be an object.`);
  }
  if (loss.temperature !== undefined)
    assertNumber(loss.temperature, n('loss.temperature'), { min: 0, exclusiveMin: true });
  if (loss.ceWeight !== undefined) assertNumber(loss.ceWeight, n('loss.ceWeight'), { min: 0 });
  if (loss.kdWeight !== undefined) assertNumber(loss.kdWeight, n('loss.kdWeight'), { min: 0 });
  if (loss.targetMode !== undefined)
    assertOneOf(
      loss.targetMode,
      ['teacherOnMixed', 'mixedTeacherSoft'] as const,
      n('loss.targetMode'),
    );
  resolveValidate(loss.validate, n('loss.validate'));
}

/**
 * STKD: mixup virtual samples each batch; the student learns the mixed labels (CE inside the
 * loss) and the teacher's distribution on the mixed images (`targetMode: 'teacherOnMixed'`,
 * default) or the λ-mix of the teacher's distributions on the two clean images
 * (`'mixedTeacherSoft'`). The student's plain CE is off. In `'mixedTeacherSoft'` mode the teacher
 * runs on the clean batch only (`teacherViews.clean`, `teacherOnX: false`): one teacher forward
 * pass per step, none on the mixed batch. Options are checked when the recipe is made
 * (`INVALID_OPTION`).
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student,
 *   ...stkd({ numClasses: 10, loss: { targetMode: 'mixedTeacherSoft' } }) });
 * ```
 */
export function stkd(options: StkdRecipeOptions): DistillerParts {
  checkOptions(options);
  const {
    numClasses,
    alpha = STKD_RECIPE_DEFAULTS.alpha,
    perSample = STKD_RECIPE_DEFAULTS.perSample,
    loss = {},
    weight = STKD_RECIPE_DEFAULTS.weight,
  } = options;
  const mode = loss.targetMode ?? 'teacherOnMixed';
  return {
    ceWeight: 0,
    batchTransform: (batch, c) => {
      const m = mixup(batch.x, batch.y, { numClasses, alpha, perSample, seed: c.seed });
      return {
        ...batch,
        x: m.inputs,
        ...(mode === 'mixedTeacherSoft'
          ? { teacherViews: { ...batch.teacherViews, clean: batch.x }, teacherOnX: false }
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
