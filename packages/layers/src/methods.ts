/**
 * `@relkd/layers/methods`: the one registry of relkd's methods (name, label, package, whether it
 * needs a teacher, its recipe and the recipe's defaults, and optionally how the MNIST benchmark
 * tunes it). The bench, the MNIST example, the smoke tests and the docs iterate over it; adding a
 * method is one entry here (plus its package, its recipe file, its docs page and its reference
 * script). This entry imports every method package;
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
import { DIGIT_SAFE_OPS, type UepOption } from '@relkd/affinity-graph';
import { RelkdError } from '@relkd/core';
import type { DistillerParts } from './Distiller';
import { crossGrid, type MethodTuning } from './methodTuning';
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
  /**
   * How the MNIST benchmark (`examples/mnist`) tunes the method and turns a tuned configuration
   * into the recipe's options; a method without it is not in that benchmark. The benchmark
   * needs nothing else from a method.
   */
  readonly tuning?: MethodTuning<RecipeOptions<Recipe>>;
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
    tuning: {
      fixed: {},
      grid: crossGrid({ temperature: [2, 4, 8], alpha: [0.5, 0.9] }),
      untuned: { temperature: 4, alpha: 0.9 },
      options: (c) => ({
        temperature: c.temperature as number,
        weight: c.alpha as number,
        ceWeight: 1 - (c.alpha as number),
      }),
    },
  }),
  vrm: entry({
    name: 'vrm',
    label: 'VRM',
    package: '@relkd/affinity-graph',
    needsTeacher: true,
    recipe: vrm,
    defaults: VRM_RECIPE_DEFAULTS,
    tuning: {
      fixed: { isEdges: 'cross', isWeight: 1, icWeight: 1, magnitude: 9, uepDelta: 0.5 },
      grid: crossGrid({ weight: [1, 4, 16] }).flatMap((c) => [
        { ...c, uep: 'jointEntropy', uepRatio: 0.1 },
        { ...c, uep: 'jointEntropy', uepRatio: 0.3 },
      ]),
      untuned: { weight: 1, uep: 'jointEntropy', uepRatio: 0.1 },
      options: (c) => {
        const uep: UepOption =
          c.uep === 'jointEntropy'
            ? { kind: 'jointEntropy', ratio: c.uepRatio as number }
            : c.uep === 'clip'
              ? { kind: 'clip', delta: c.uepDelta as number }
              : { kind: 'none' };
        return {
          weight: c.weight as number,
          // magnitude on torchvision's RandAugment scale (0-30).
          view: { numOps: 2, magnitude: c.magnitude as number, ops: DIGIT_SAFE_OPS },
          loss: {
            uep,
            isEdges: c.isEdges as 'cross' | 'upper',
            weights: { is: c.isWeight as number, ic: c.icWeight as number },
          },
        };
      },
    },
  }),
  stkd: entry({
    name: 'stkd',
    label: 'STKD',
    package: '@relkd/mixup-similarity',
    needsTeacher: true,
    recipe: stkd,
    defaults: STKD_RECIPE_DEFAULTS,
    tuning: {
      fixed: { alpha: 1, targetMode: 'teacherOnMixed' },
      grid: crossGrid({ temperature: [2, 4, 8], kdWeight: [0.5, 0.9] }),
      untuned: { temperature: 4, kdWeight: 0.9 },
      options: (c, ctx) => ({
        numClasses: ctx.numClasses,
        alpha: c.alpha as number,
        loss: {
          temperature: c.temperature as number,
          kdWeight: c.kdWeight as number,
          ceWeight: 1 - (c.kdWeight as number),
          targetMode: c.targetMode as 'teacherOnMixed' | 'mixedTeacherSoft',
        },
      }),
    },
  }),
  icc: entry({
    name: 'icc',
    label: 'ICC',
    package: '@relkd/class-correlation',
    needsTeacher: true,
    recipe: icc,
    defaults: ICC_RECIPE_DEFAULTS,
    tuning: {
      fixed: {},
      grid: crossGrid({ temperature: [2, 4, 8], iccWeight: [1, 10] }),
      untuned: { temperature: 4, iccWeight: 1 },
      options: (c) => ({
        temperature: c.temperature as number,
        kdWeight: 1,
        iccWeight: c.iccWeight as number,
      }),
    },
    teacherRecipe: iccTeacher,
  }),
  mtkd: entry({
    name: 'mtkd',
    label: 'MTKD-SSR',
    package: '@relkd/stage-distill',
    needsTeacher: true,
    recipe: mtkd,
    defaults: MTKD_RECIPE_DEFAULTS,
    tuning: {
      fixed: { scd: 1, srd: 1, crd: 1, teacherHeads: 'pretrain' },
      grid: crossGrid({ temperature: [2, 4], weight: [0.5, 1, 2] }),
      untuned: { temperature: 4, weight: 1 },
      options: (c, ctx) => {
        const w = c.weight as number;
        const pretrain = c.teacherHeads !== 'final';
        const teacher = ctx.teacher;
        // Offline, the stage heads' logits come from the stored outputs (`<stage>_logits`).
        const offline = ctx.offlineTeacher;
        if (
          offline === undefined &&
          (teacher === undefined || (pretrain && ctx.teacherHeadWeights === undefined))
        ) {
          throw new RelkdError(
            'INVALID_OPTION',
            `methods.mtkd.tuning: a run needs the teacher${pretrain ? ' and its fitted stage heads (context.teacherHeadWeights)' : ''}, or its stored outputs (context.offlineTeacher).`,
          );
        }
        return {
          teacherHeads: pretrain ? ('pretrain' as const) : ('final' as const),
          ...(pretrain && offline === undefined
            ? { teacherHeadWeights: ctx.teacherHeadWeights! }
            : {}),
          teacher: offline?.source ?? teacher!.model,
          student: ctx.student.model,
          stages: {
            teacher: offline?.stageNames ?? teacher!.stages,
            student: ctx.student.stages,
          },
          numClasses: ctx.numClasses,
          seed: ctx.seed,
          loss: {
            temperature: c.temperature as number,
            scdWeight: w * (c.scd as number),
            srdWeight: w * (c.srd as number),
            crdWeight: w * (c.crd as number),
          },
        };
      },
    },
  }),
  corsd: entry({
    name: 'corsd',
    label: 'CORSD',
    package: '@relkd/relation-network',
    needsTeacher: false,
    recipe: corsd,
    defaults: CORSD_RECIPE_DEFAULTS,
    tuning: {
      fixed: { pairCe: true, negative: true, tripletScore: true, distill: true },
      grid: crossGrid({ weight: [1, 4, 16], tSquared: [false, true] }),
      untuned: { weight: 1, tSquared: false },
      options: (c, ctx) => {
        const off = (k: string) => c[k] === false;
        return {
          student: ctx.student.model,
          stages: ctx.student.stages,
          numClasses: ctx.numClasses,
          seed: ctx.seed,
          weight: c.weight as number,
          loss: {
            tSquared: c.tSquared === true,
            ...(off('pairCe') ? { ceWeight: 0 } : {}),
            ...(off('negative') ? { negKdWeight: 0, negCeWeight: 0 } : {}),
            ...(off('tripletScore') ? { tripletWeight: 0, scoreWeight: 0 } : {}),
            ...(off('distill') ? { kdWeight: 0, negKdWeight: 0, scoreWeight: 0 } : {}),
          },
        };
      },
    },
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

export {
  crossGrid,
  type MethodTuning,
  type TuningConfig,
  type TuningContext,
  type TuningNet,
} from './methodTuning';
export type { CorsdRecipe, CorsdRecipeOptions } from './recipes/corsd';
export type { IccRecipeOptions, IccTeacherRecipeOptions } from './recipes/icc';
export type { KdRecipeOptions } from './recipes/kd';
export type { MtkdRecipe, MtkdRecipeOptions, MtkdTeacherHeads } from './recipes/mtkd';
export type { StkdRecipeOptions } from './recipes/stkd';
export type { VrmRecipeOptions } from './recipes/vrm';
