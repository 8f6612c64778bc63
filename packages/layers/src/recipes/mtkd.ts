/**
 * `@relkd/layers/recipes/mtkd`: the MTKD-SSR recipe (`mtkd`), on `@relkd/stage-distill` (an optional peer: install it to use this subpath).
 *
 * @example
 * ```ts
 * import { mtkd } from '@relkd/layers/recipes/mtkd';
 * ```
 * @module @relkd/layers/recipes/mtkd
 */
import { globalAveragePool, RelkdError, type SavedWeights } from '@relkd/core';
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
import { mtkdOfflineStageShapes } from '../mtkdOfflineStageShapes';
import { isOfflineTeacher, type OfflineTeacherSource } from '../offlineTeacher';
import { stageShapes } from '../stageShapes';
import { type Tap, tap } from '../tap';
import { teacherOf } from './shared';

export { mtkdOfflineStageShapes };

/** Where the SRD targets of the earlier stages come from in {@link mtkd}. */
export type MtkdTeacherHeads = 'pretrain' | 'final';

/** The defaults of {@link mtkd}'s scalar options: `seed` 0, `teacherHeads` `'pretrain'`. */
export const MTKD_RECIPE_DEFAULTS = Object.freeze({ seed: 0, teacherHeads: 'pretrain' as const });

/** Options of {@link mtkd}. */
export interface MtkdRecipeOptions {
  /**
   * The trained teacher, or an offline teacher source holding its stored stage outputs (and, with
   * `teacherHeads: 'pretrain'`, its stage heads' logits): see {@link mtkdOfflineStageShapes}.
   */
  teacher: tfl.LayersModel | OfflineTeacherSource;
  student: tfl.LayersModel;
  /**
   * Layer names of the stage outputs (NHWC), shallow to deep. With an offline teacher,
   * `teacher` lists the names of its stored stage outputs (e.g. `['stage1', 'stage2', 'stage3']`).
   */
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
   *
   * With an offline teacher, `'pretrain'` reads the heads' logits the exporter stored
   * (`<stage>_logits`); nothing is fitted here.
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
   * `Distiller.dispose` does not free them (the recipe's `dispose()` does). Cache them with
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
  /**
   * What an offline teacher for this recipe stores, computed by the live teacher on `x` (NHWC):
   * `logits` `[B, C]` and, as `features`, each stage `stage1 … stageK` (the GAP-pooled channel
   * vector `[B, C_k]` that SCD compares, or with `{ pooled: false }` the NHWC map) and, with
   * `'pretrain'`, the fitted teacher heads' logits `stage1_logits … stage{K−1}_logits` `[B, C]`
   * (inference mode). Hand it to `exportTeacherOutputs` of `@relkd/teacher-outputs/node` as the
   * teacher function; an offline recipe then takes `stages.teacher: ['stage1', …]`. New tensors
   * (the caller disposes them).
   *
   * @throws RelkdError `INVALID_OPTION` with an offline teacher, or before the heads are fitted.
   */
  teacherOutputs(
    x: tf.Tensor,
    options?: { pooled?: boolean },
  ): { logits: tf.Tensor; features: Record<string, tf.Tensor> };
  /**
   * Frees everything the recipe built: the teacher heads and `stageModules`. `Distiller.dispose`
   * frees `stageModules` too (they are among its `modules`); calling both, in either order, is
   * safe. A recipe used without a Distiller (e.g. only to fit and cache the teacher heads) needs
   * this call alone. The recipe and a Distiller built on it cannot be used afterwards.
   */
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
  if (isOfflineTeacher(options.teacher)) {
    for (const [k, v] of Object.entries({ teacherHeadFit, teacherHeadData, teacherHeadWeights })) {
      if (v !== undefined) {
        throw invalid(
          `\`${k}\` needs a live teacher: with an offline teacher the stage heads' logits are read from its outputs (\`<stage>_logits\`), fitted and stored when they were exported.`,
        );
      }
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
 * Offline (`teacher` an offline source such as `TeacherOutputs`): `stages.teacher` names its
 * stored stage outputs, SCD compares their channel means (stored maps or pooled vectors), SRD
 * reads the stored heads' logits `<stage>_logits` (`'pretrain'`) or `logits` (`'final'`); the
 * outputs are checked when the recipe is made ({@link mtkdOfflineStageShapes}). Write them with
 * `recipe.teacherOutputs` of a live recipe (fitted heads) or `export_torch.py --stages --stage-logits`.
 *
 * @throws RelkdError `INVALID_OPTION` (bad options, when the recipe is made; an offline teacher
 *   missing a stage output or stage logits, naming it), `SHAPE_MISMATCH` (a stored output of the
 *   wrong shape); at a step, when the teacher heads are not fitted yet (`distiller.step` without a
 *   `fit`: call `fitTeacherHeads`).
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
  const offline = isOfflineTeacher(teacher) ? teacher : undefined;
  const liveTeacher = offline === undefined ? (teacher as tfl.LayersModel) : undefined;
  const built = buildStageModules({
    studentStages: stageShapes(student, stages.student),
    teacherStages:
      offline === undefined
        ? stageShapes(liveTeacher!, stages.teacher)
        : mtkdOfflineStageShapes(offline, stages.teacher, mode),
    numClasses,
    seed,
    teacherHeads: mode === 'pretrain' && offline === undefined,
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
    if (liveTeacher === undefined)
      throw invalid('the teacher is offline: it cannot run on inputs.');
    teacherTap ??= tap(liveTeacher, { features: teacherStages });
    const out = teacherTap(x, { training: false });
    return teacherStages.map((n) => out.features[n]!);
  };
  // An offline teacher's stored stage outputs as NHWC maps (a pooled [B, C] vector as [B, 1, 1, C]:
  // SCD reads only the channel means) and the stored SRD targets.
  const offlineStage = (features: Record<string, tf.Tensor>, name: string): tf.Tensor => {
    const f = features[name];
    if (f === undefined) {
      throw invalid(
        `the offline teacher gave no output '${name}' for this batch (its outputs: ${Object.keys(features).join(', ') || 'logits only'}).`,
      );
    }
    return f.rank === 2 ? tf.reshape(f, [f.shape[0]!, 1, 1, f.shape[1]!]) : f;
  };

  const recipe: MtkdRecipe = {
    stageModules: mods,
    teacherHeads: heads,
    teacherHeadsReady: heads === null || options.teacherHeadWeights !== undefined,
    teacherHeadAccuracy: undefined,
    async fitTeacherHeads(data = options.teacherHeadData) {
      if (offline !== undefined)
        throw invalid(
          "no teacher heads to fit with an offline teacher: its outputs hold the heads' logits.",
        );
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
    teacherOutputs(x, outputOptions = {}) {
      if (liveTeacher === undefined)
        throw invalid('teacherOutputs runs the live teacher; this recipe has an offline one.');
      if (!recipe.teacherHeadsReady) {
        throw invalid(
          "teacherOutputs: the teacher's stage heads are not fitted yet: `await recipe.fitTeacherHeads({ x, y })` first, pass `teacherHeadWeights`, or use `teacherHeads: 'final'`.",
        );
      }
      const pooled = outputOptions.pooled ?? true;
      return tf.tidy(() => {
        teacherTap ??= tap(liveTeacher, { features: teacherStages });
        const out = teacherTap(x, { training: false });
        const maps = teacherStages.map((n) => out.features[n]!);
        const features: Record<string, tf.Tensor> = {};
        maps.forEach((m, k) => {
          features[`stage${k + 1}`] = pooled ? globalAveragePool(m as tf.Tensor4D) : m;
        });
        if (heads !== null) {
          heads.apply(maps, { training: false }).forEach((z, k) => {
            features[`stage${k + 1}_logits`] = z;
          });
        }
        return { logits: out.logits, features };
      });
    },
    dispose() {
      // Module.dispose is idempotent: the Distiller may already have freed the stage modules.
      built.dispose();
    },
    ceWeight: 0,
    taps:
      offline === undefined
        ? { teacher: { features: stages.teacher }, student: { features: stages.student } }
        : { student: { features: stages.student } },
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
          const tf_ = stages.teacher.map((n) =>
            offline === undefined ? t.features[n]! : offlineStage(t.features, n),
          );
          let teacherStageLogits: tf.Tensor[];
          if (offline !== undefined && mode === 'pretrain') {
            const stored = stages.teacher.slice(0, -1).map((n) => {
              const z = t.features[`${n}_logits`];
              if (z === undefined) {
                throw invalid(
                  `the offline teacher gave no output '${n}_logits' for this batch (its outputs: ${Object.keys(t.features).join(', ') || 'logits only'}).`,
                );
              }
              return z;
            });
            teacherStageLogits = [...stored, t.logits];
          } else if (heads === null) {
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
