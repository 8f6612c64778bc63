/**
 * `@relkd/layers/recipes/mtkd`: the MTKD-SSR recipe (`mtkd`), on `@relkd/stage-distill` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { mtkd } from '@relkd/layers/recipes/mtkd';
 * ```
 * @module @relkd/layers/recipes/mtkd
 */
import { RelkdError, type SavedWeights } from '@relkd/core';
import {
  buildStageModules,
  type FitStageHeadsOptions,
  type FitStageHeadsResult,
  fitStageHeads,
  type MtkdLossOptions,
  mtkdLoss,
  resolveFitStageHeadsOptions,
  type StageHeads,
  type StageModules,
} from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DistillData, DistillerParts, FitOptions } from '../Distiller';
import { stageShapes } from '../stageShapes';
import { type Tap, tap } from '../tap';
import { teacherOf } from './shared';

/** Where the SRD targets of the earlier stages come from in {@link mtkd}. */
export type MtkdTeacherHeads = 'pretrain' | 'final';

/** The defaults of {@link mtkd}'s scalar options: `seed` 0, `teacherHeads` `'pretrain'`. */
export const MTKD_RECIPE_DEFAULTS = Object.freeze({ seed: 0, teacherHeads: 'pretrain' as const });

/** Options of {@link mtkd}. */
export interface MtkdRecipeOptions {
  teacher: tfl.LayersModel;
  student: tfl.LayersModel;
  /** Layer names of the stage outputs (NHWC), shallow to deep. */
  stages: { teacher: readonly string[]; student: readonly string[] };
  numClasses: number;
  /** Options of `mtkdLoss` (weights, temperature, review pairs, mapping). */
  loss?: MtkdLossOptions;
  /** Seed of the adapters and stage heads (and of the teacher heads' shuffling). Default 0. */
  seed?: number;
  /**
   * SRD targets of the teacher's earlier stages (the deepest stage always uses the teacher's final
   * logits):
   * - `'pretrain'` (default): stage heads on the frozen teacher's stage features, fitted with CE
   *   before the student trains (the first `Distiller.fit`, on the fit data or `teacherHeadData`),
   *   unless `teacherHeadWeights` are given;
   * - `'final'`: no teacher heads, every stage distils from the teacher's final logits.
   */
  teacherHeads?: MtkdTeacherHeads;
  /**
   * Budget of the teacher-head fitting (`fitStageHeads`): `epochs = 3`, `maxSteps` (no limit),
   * `batchSize = 64`, `learningRate = 1e-3` (Adam), `seed` = the recipe's `seed`.
   */
  teacherHeadFit?: FitStageHeadsOptions;
  /**
   * Data the teacher heads are fitted on (`x` NHWC, `y` `[N]` integer labels or `[N, C]`
   * one-hot), e.g. the teacher's own training set. Default: the data of the first `fit`.
   */
  teacherHeadData?: { x: tf.Tensor; y: tf.Tensor };
  /**
   * Previously fitted teacher-head weights (`recipe.teacherHeads.getWeights()`, or
   * `await recipe.teacherHeads.saveWeights()`): loaded now, and no fitting happens. The tensors
   * are copied; the caller keeps ownership.
   */
  teacherHeadWeights?: readonly tf.Tensor[] | SavedWeights;
}

/** What {@link mtkd} returns: the Distiller parts plus the modules it built. */
export interface MtkdRecipe extends DistillerParts {
  /** The student's adapters and stage heads (trained with the student; in `modules`). */
  stageModules: StageModules;
  /**
   * The teacher's stage heads (`'pretrain'`), or `null` (`'final'`). Never in `modules`: the
   * student's optimizer never updates them, `Distiller.save` does not write them and
   * `Distiller.dispose` does not free them (use `dispose()` below). Cache them with
   * `getWeights()` / `saveWeights()` and pass them back as `teacherHeadWeights`.
   */
  teacherHeads: StageHeads | null;
  /** `true` once the teacher heads are fitted or loaded (always `true` with `'final'`). */
  teacherHeadsReady: boolean;
  /**
   * Training accuracy of each teacher head (K_T − 1 entries, shallow to deep, inference mode on the
   * fitting data) after the last fitting; `undefined` before it and when weights were given.
   */
  teacherHeadAccuracy: number[] | undefined;
  /**
   * Fits the teacher heads now (again, if already fitted) on `data` (default `teacherHeadData`);
   * what `Distiller.fit` does automatically the first time. Use it before `distiller.step`.
   */
  fitTeacherHeads(data?: { x: tf.Tensor; y: tf.Tensor }): Promise<FitStageHeadsResult>;
  /** Frees the teacher heads (the Distiller frees `stageModules`). */
  dispose(): void;
}

function isTensorPair(d: unknown): d is { x: tf.Tensor; y: tf.Tensor } {
  return (
    typeof d === 'object' &&
    d !== null &&
    (d as { x?: unknown }).x instanceof tf.Tensor &&
    (d as { y?: unknown }).y instanceof tf.Tensor
  );
}

function invalid(message: string): RelkdError {
  return new RelkdError('INVALID_OPTION', `recipes.mtkd: ${message}`);
}

/** Checks the teacher-head options (no tensors are created). */
function checkTeacherHeadOptions(options: MtkdRecipeOptions, seed: number) {
  if ('teacherStageLogits' in options) {
    throw invalid(
      "`teacherStageLogits` was removed; use `teacherHeads: 'final'` (the old behaviour) or `'pretrain'`.",
    );
  }
  const mode = options.teacherHeads ?? MTKD_RECIPE_DEFAULTS.teacherHeads;
  if (mode !== 'pretrain' && mode !== 'final') {
    throw invalid(`\`teacherHeads\` must be 'pretrain' or 'final', got ${String(mode)}.`);
  }
  const { teacherHeadFit, teacherHeadData, teacherHeadWeights } = options;
  if (mode === 'final') {
    for (const [k, v] of Object.entries({ teacherHeadFit, teacherHeadData, teacherHeadWeights })) {
      if (v !== undefined) throw invalid(`\`${k}\` needs \`teacherHeads: 'pretrain'\`.`);
    }
  }
  const fit = resolveFitStageHeadsOptions({ seed, ...teacherHeadFit }, 'teacherHeadFit');
  if (teacherHeadData !== undefined) {
    if (!isTensorPair(teacherHeadData))
      throw invalid('`teacherHeadData` must be { x, y } tensors.');
    if (teacherHeadData.x.shape[0] !== teacherHeadData.y.shape[0] || teacherHeadData.x.size === 0) {
      throw invalid(
        `\`teacherHeadData\` needs as many rows in x as in y (and at least one), got ${teacherHeadData.x.shape[0]} and ${teacherHeadData.y.shape[0]}.`,
      );
    }
  }
  return { mode, fit };
}

/** Loads `weights` into `heads`, turning any mismatch into `INVALID_OPTION`. */
function loadTeacherHeadWeights(
  heads: StageHeads,
  weights: readonly tf.Tensor[] | SavedWeights,
): void {
  try {
    if (Array.isArray(weights)) heads.setWeights(weights);
    else if (
      typeof weights === 'object' &&
      weights !== null &&
      'specs' in weights &&
      'data' in weights
    )
      heads.loadWeights(weights as SavedWeights);
    else throw invalid('`teacherHeadWeights` must be a tf.Tensor[] or { specs, data }.');
  } catch (e) {
    if (e instanceof RelkdError && e.code === 'INVALID_OPTION') throw e;
    throw invalid(
      `\`teacherHeadWeights\` do not fit the teacher heads of these stages: ${(e as Error).message}`,
    );
  }
}

/** Writes one line where `fit`'s progress output goes (only when `progress` is on). */
function logLine(progress: FitOptions['progress'], line: string): void {
  if (progress === undefined || progress === false) return;
  const stream = typeof progress === 'object' ? progress.stream : undefined;
  if (stream !== undefined) stream.write(`${line}\n`);
  else console.log(line);
}

/**
 * MTKD-SSR: channel adapters + stage heads for the student (trained with it), stage-wise channel
 * (SCD), response (SRD) and cross-stage review (CRD) distillation; CE is inside `mtkdLoss`.
 *
 * SRD targets (`teacherHeads`): with `'pretrain'` (default) the teacher gets its own stage heads
 * (`StageHead`s on its earlier stage features), fitted with CE on the **frozen** teacher (inference
 * mode, `fitStageHeads`) the first time the Distiller trains — a `beforeFit` hook, on the fit data
 * or on `teacherHeadData` — and then applied in inference mode each step:
 * `z^T_k = head^T_k(F^T_k)` for `k < K_T`, `z^T_{K_T}` = the teacher's logits. With `'final'`
 * every stage's target is the teacher's final logits. The teacher heads are not in `modules`:
 * no student loss updates them.
 *
 * @throws RelkdError `INVALID_OPTION` (bad options, when the recipe is made); at a step, when the
 *   teacher heads are not fitted yet (`distiller.step` without a `fit`: call `fitTeacherHeads`).
 * @example
 * ```ts
 * const recipe = mtkd({ teacher, student, numClasses: 10,
 *   stages: { teacher: ['t1', 't2', 't3'], student: ['s1', 's2', 's3'] },
 *   teacherHeadFit: { epochs: 2 }, teacherHeadWeights: cached });   // cached: optional
 * const distiller = new Distiller({ teacher, student, ...recipe });
 * await distiller.fit({ x, y }, { epochs: 5 });   // fits the teacher heads first (unless cached)
 * console.log(recipe.teacherHeadAccuracy);         // e.g. [0.91, 0.97]
 * const toCache = recipe.teacherHeads!.getWeights();
 * ```
 */
export function mtkd(options: MtkdRecipeOptions): MtkdRecipe {
  const {
    teacher,
    student,
    stages,
    numClasses,
    loss = {},
    seed = MTKD_RECIPE_DEFAULTS.seed,
  } = options;
  const { mode, fit } = checkTeacherHeadOptions(options, seed);
  const built = buildStageModules({
    studentStages: stageShapes(student, stages.student),
    teacherStages: stageShapes(teacher, stages.teacher),
    numClasses,
    seed,
    teacherHeads: mode === 'pretrain',
  });
  const mods = built.student;
  const heads = built.teacher;
  if (heads !== null && options.teacherHeadWeights !== undefined) {
    try {
      loadTeacherHeadWeights(heads, options.teacherHeadWeights);
    } catch (e) {
      built.dispose();
      throw e;
    }
  }
  const teacherK = stages.teacher.length;
  const teacherStages = [...stages.teacher];
  let teacherTap: Tap | undefined;
  // The frozen teacher in inference mode (built once, on first use).
  const teacherFeatures = (x: tf.Tensor): tf.Tensor[] => {
    teacherTap ??= tap(teacher, { features: teacherStages });
    const out = teacherTap(x, { training: false });
    return teacherStages.map((n) => out.features[n]!);
  };

  const recipe: MtkdRecipe = {
    stageModules: mods,
    teacherHeads: heads,
    teacherHeadsReady: heads === null || options.teacherHeadWeights !== undefined,
    teacherHeadAccuracy: undefined,
    async fitTeacherHeads(data = options.teacherHeadData) {
      if (heads === null) throw invalid("no teacher heads with `teacherHeads: 'final'`.");
      if (!isTensorPair(data)) {
        throw invalid(
          'the teacher heads are fitted on { x, y } tensors: pass them here, or `teacherHeadData: { x, y }` to the recipe (needed when Distiller.fit gets a dataset or an iterable).',
        );
      }
      const r = await fitStageHeads(heads, data, teacherFeatures, fit);
      recipe.teacherHeadAccuracy = r.accuracy;
      recipe.teacherHeadsReady = true;
      return r;
    },
    dispose() {
      heads?.dispose();
    },
    ceWeight: 0,
    taps: { teacher: { features: stages.teacher }, student: { features: stages.student } },
    modules: [mods as never],
    hooks: {
      beforeFit: async (data: DistillData, fitOptions: FitOptions) => {
        if (recipe.teacherHeadsReady) return;
        const r = await recipe.fitTeacherHeads(
          options.teacherHeadData ?? (data as { x: tf.Tensor; y: tf.Tensor }),
        );
        logLine(
          fitOptions.progress,
          `mtkd: teacher stage heads fitted (${r.steps} steps), train accuracy ${r.accuracy
            .map((a) => `${(100 * a).toFixed(2)}%`)
            .join(', ')}`,
        );
      },
    },
    terms: [
      {
        name: 'mtkd',
        loss: (ctx) => {
          const t = teacherOf(ctx, 'mtkd');
          const sf = stages.student.map((n) => ctx.student.features[n]!);
          const tf_ = stages.teacher.map((n) => t.features[n]!);
          let teacherStageLogits: tf.Tensor[];
          if (heads === null) {
            teacherStageLogits = Array.from({ length: teacherK }, () => t.logits);
          } else {
            if (!recipe.teacherHeadsReady) {
              throw invalid(
                "the teacher's stage heads are not fitted yet: train with `distiller.fit` (fits them first), `await recipe.fitTeacherHeads({ x, y })` before `distiller.step`, pass `teacherHeadWeights`, or use `teacherHeads: 'final'`.",
              );
            }
            // Inference mode; not in the varList and stop-gradiented inside the SRD loss.
            teacherStageLogits = [...heads.apply(tf_, { training: false }), t.logits];
          }
          const out = mods.apply(sf, { training: true });
          return mtkdLoss(
            {
              studentFeatures: out.features,
              teacherFeatures: tf_,
              studentStageLogits: [...out.logits, ctx.student.logits],
              teacherStageLogits,
              labels: ctx.batch.y,
            },
            { mapping: built.mapping, ...loss },
          ) as unknown as { total: tf.Scalar } & Record<string, tf.Scalar>;
        },
      },
    ],
  };
  return recipe;
}
