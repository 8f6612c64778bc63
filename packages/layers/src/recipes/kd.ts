/**
 * `@relkd/layers/recipes/kd`: the Hinton KD recipe (`kd`), on `@relkd/core`'s `kdLoss`; depends on no method package.
 *
 * @example
 * ```ts
 * import { kd } from '@relkd/layers/recipes/kd';
 * ```
 * @module @relkd/layers/recipes/kd
 */
import { kdLoss, RelkdError } from '@relkd/core';
import { assertNumber } from '@relkd/core/internal';
import type { DistillerParts } from '../Distiller';
import { logits2d, teacherOf } from './shared';

/** Options of {@link kd}. */
export interface KdRecipeOptions {
  /** Softmax temperature. Default 4. */
  temperature?: number;
  /** Weight of the KD term. Default 1. */
  weight?: number;
  /** Weight of the student's CE on the labels. Default 1. */
  ceWeight?: number;
}

/** The defaults of {@link kd}'s options (`temperature` 4, `weight` 1, `ceWeight` 1). */
export const KD_RECIPE_DEFAULTS = Object.freeze({ temperature: 4, weight: 1, ceWeight: 1 });

const KD_KEYS: readonly string[] = ['temperature', 'weight', 'ceWeight'];

/**
 * Hinton KD: `ceWeight·CE + weight·T²·KL(teacher_T ‖ student_T)`. Options are checked when the
 * recipe is made (`INVALID_OPTION`: `temperature > 0`, weights `>= 0`, finite, no unknown keys),
 * not at the first step.
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, ...kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 }) });
 * ```
 */
export function kd(options: KdRecipeOptions = {}): DistillerParts {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RelkdError('INVALID_OPTION', 'recipes.kd: options must be an object.');
  }
  const unknown = Object.keys(options).filter((k) => !KD_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      `recipes.kd: unknown option(s) ${unknown.map((k) => `'${k}'`).join(', ')}; the options are ${KD_KEYS.join(', ')}.`,
    );
  }
  const {
    temperature = KD_RECIPE_DEFAULTS.temperature,
    weight = KD_RECIPE_DEFAULTS.weight,
    ceWeight = KD_RECIPE_DEFAULTS.ceWeight,
  } = options;
  assertNumber(temperature, 'recipes.kd options.temperature', { min: 0, exclusiveMin: true });
  assertNumber(weight, 'recipes.kd options.weight', { min: 0 });
  assertNumber(ceWeight, 'recipes.kd options.ceWeight', { min: 0 });
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
