/**
 * `@relkd/layers/methods`: the one registry of relkd's methods (name, label, package, whether it
 * needs a teacher, its recipe and the recipe's defaults). The bench, the MNIST example, the smoke
 * tests and the docs iterate over it; adding a method is one line here (plus its package, its
 * recipe file, its docs page and its reference script). This entry imports every method package;
 * import one recipe from `@relkd/layers/recipes/<method>` to depend on that method only.
 *
 * @example
 * ```ts
 * import { methods } from '@relkd/layers/methods';
 *
 * for (const m of Object.values(methods)) console.log(m.name, m.label, m.needsTeacher);
 * const distiller = new Distiller({ teacher, student, ...methods.kd.recipe({ temperature: 4 }) });
 * ```
 * @module @relkd/layers/methods
 */
import { RelkdError } from '@relkd/core';
import type { DistillerParts } from './Distiller';
import { CORSD_RECIPE_DEFAULTS, corsd } from './recipes/corsd';
import { ICC_RECIPE_DEFAULTS, icc, iccTeacher } from './recipes/icc';
import { KD_RECIPE_DEFAULTS, kd } from './recipes/kd';
import { MTKD_RECIPE_DEFAULTS, mtkd } from './recipes/mtkd';
import { STKD_RECIPE_DEFAULTS, stkd } from './recipes/stkd';
import { VRM_RECIPE_DEFAULTS, vrm } from './recipes/vrm';

/** Any recipe: options in, Distiller parts out. */
// biome-ignore lint/suspicious/noExplicitAny: a recipe's options are contravariant; `any` admits every recipe.
export type AnyRecipe = (options: any) => DistillerParts;

/** The options object of a recipe (without `undefined` for recipes whose options are optional). */
export type RecipeOptions<R extends AnyRecipe> = NonNullable<Parameters<R>[0]>;

/**
 * One method of the registry: `Recipe` is its recipe's type (`typeof vrm`), `TeacherRecipe` that
 * of its teacher recipe (ICC's `iccTeacher`; `never` when any trained teacher will do).
 */
export interface MethodEntry<
  Recipe extends AnyRecipe = AnyRecipe,
  TeacherRecipe extends AnyRecipe = never,
> {
  /** Short id, also the recipe subpath: `@relkd/layers/recipes/<name>`. */
  readonly name: string;
  /** Name in reports and on pages (`'Hinton KD'`, `'VRM'`, …). */
  readonly label: string;
  /** The loss package the recipe uses (`@relkd/core` for plain KD). */
  readonly package: string;
  /** `true` when the recipe reads a teacher's outputs (`false`: self-distillation). */
  readonly needsTeacher: boolean;
  /** Makes the Distiller parts (options are checked when it is made). */
  readonly recipe: Recipe;
  /** The recipe's documented defaults (the same object the recipe reads). */
  readonly defaults: Readonly<Partial<RecipeOptions<Recipe>>>;
  /**
   * A recipe the teacher is trained with first, when the method needs its own teacher (ICC's
   * expressive teacher: `iccTeacher`); absent when any trained teacher will do.
   */
  readonly teacherRecipe?: TeacherRecipe;
}

/** Builds a typed, frozen registry entry (it keeps the recipe's own type). */
function entry<Recipe extends AnyRecipe, TeacherRecipe extends AnyRecipe = never>(
  e: MethodEntry<Recipe, TeacherRecipe>,
): MethodEntry<Recipe, TeacherRecipe> {
  return Object.freeze(e);
}

/**
 * Every relkd method, in the order reports list them: `kd` (Hinton KD, in `@relkd/core`), `vrm`,
 * `stkd`, `icc`, `mtkd`, `corsd`. `methods.<name>.recipe` is the function exported by
 * `@relkd/layers/recipes/<name>`.
 */
export const methods = Object.freeze({
  kd: entry({
    name: 'kd',
    label: 'Hinton KD',
    package: '@relkd/core',
    needsTeacher: true,
    recipe: kd,
    defaults: KD_RECIPE_DEFAULTS,
  }),
  vrm: entry({
    name: 'vrm',
    label: 'VRM',
    package: '@relkd/affinity-graph',
    needsTeacher: true,
    recipe: vrm,
    defaults: VRM_RECIPE_DEFAULTS,
  }),
  stkd: entry({
    name: 'stkd',
    label: 'STKD',
    package: '@relkd/mixup-similarity',
    needsTeacher: true,
    recipe: stkd,
    defaults: STKD_RECIPE_DEFAULTS,
  }),
  icc: entry({
    name: 'icc',
    label: 'ICC',
    package: '@relkd/class-correlation',
    needsTeacher: true,
    recipe: icc,
    defaults: ICC_RECIPE_DEFAULTS,
    teacherRecipe: iccTeacher,
  }),
  mtkd: entry({
    name: 'mtkd',
    label: 'MTKD-SSR',
    package: '@relkd/stage-distill',
    needsTeacher: true,
    recipe: mtkd,
    defaults: MTKD_RECIPE_DEFAULTS,
  }),
  corsd: entry({
    name: 'corsd',
    label: 'CORSD',
    package: '@relkd/relation-network',
    needsTeacher: false,
    recipe: corsd,
    defaults: CORSD_RECIPE_DEFAULTS,
  }),
});

/** A method's name: `'kd' | 'vrm' | 'stkd' | 'icc' | 'mtkd' | 'corsd'`. */
export type MethodName = keyof typeof methods;

/** The method names in registry order. */
export const methodNames: readonly MethodName[] = Object.freeze(
  Object.keys(methods) as MethodName[],
);

/**
 * The registry entry of `name`.
 *
 * @throws RelkdError `INVALID_OPTION` for a name that is not in {@link methods}, listing them.
 * @example
 * ```ts
 * methodOf('vrm').label; // 'VRM'
 * ```
 */
export function methodOf<N extends MethodName>(name: N): (typeof methods)[N];
export function methodOf(name: string): (typeof methods)[MethodName];
export function methodOf(name: string): (typeof methods)[MethodName] {
  if (!Object.hasOwn(methods, name)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `unknown method ${JSON.stringify(name)}; the methods are ${methodNames.join(', ')}.`,
      { name, methods: methodNames },
    );
  }
  return methods[name as MethodName];
}

/**
 * Every recipe by name, the registry's recipes plus ICC's teacher recipe `iccTeacher`: the
 * `recipes` object `@relkd/layers` exported before the recipe subpaths (kept for migration).
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, ...recipes.vrm() });
 * ```
 */
export const recipes = Object.freeze({ kd, vrm, stkd, icc, iccTeacher, mtkd, corsd });

export type { CorsdRecipe, CorsdRecipeOptions } from './recipes/corsd';
export type { IccRecipeOptions, IccTeacherRecipeOptions } from './recipes/icc';
export type { KdRecipeOptions } from './recipes/kd';
export type { MtkdRecipe, MtkdRecipeOptions, MtkdTeacherHeads } from './recipes/mtkd';
export type { StkdRecipeOptions } from './recipes/stkd';
export type { VrmRecipeOptions } from './recipes/vrm';
