import type { SavedWeights } from '@relkd/core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { OfflineTeacherSource } from './offlineTeacher';

/**
 * A flat, JSON-safe configuration of a method (what a tuning grid varies and a `tuned.json`
 * stores), e.g. `{ temperature: 4, alpha: 0.9 }`. Its keys are the tuning's own names; its
 * {@link MethodTuning.options} turns it into the recipe's options.
 */
export type TuningConfig = Record<string, number | string | boolean>;

/** A model and the layer names of its stage outputs (NHWC, shallow to deep). */
export interface TuningNet {
  model: tfl.LayersModel;
  stages: string[];
}

/** What a run gives {@link MethodTuning.options} beside the configuration. */
export interface TuningContext {
  student: TuningNet;
  /** The teacher (`undefined` for self-distillation). */
  teacher: TuningNet | undefined;
  numClasses: number;
  /** The run's seed (modules a recipe builds are initialised from it). */
  seed: number;
  /** MTKD-SSR: the teacher's stage heads, fitted once with the teacher. */
  teacherHeadWeights?: SavedWeights | undefined;
  /**
   * The teacher's stored outputs, which replace the live teacher (`--teacher-outputs` in the MNIST
   * example). MTKD-SSR reads its stage outputs (`stageNames`) and stage-head logits from them.
   */
  offlineTeacher?: { source: OfflineTeacherSource; stageNames: string[] } | undefined;
}

/**
 * How a benchmark tunes a method and builds its runs (the MNIST benchmark in `examples/mnist`
 * reads it from the registry entry's `tuning`; a method without one is not in that benchmark):
 * every configuration is `{ ...fixed, ...g }` for a grid point `g` (or `untuned` before any
 * tuning), and `options(config, context)` makes the recipe's options of one run.
 *
 * @example
 * ```ts
 * const tuning: MethodTuning<KdRecipeOptions> = {
 *   fixed: {},
 *   grid: crossGrid({ temperature: [2, 4, 8], alpha: [0.5, 0.9] }),
 *   untuned: { temperature: 4, alpha: 0.9 },
 *   options: (c) => ({ temperature: c.temperature as number, weight: c.alpha as number }),
 * };
 * ```
 */
export interface MethodTuning<Options> {
  /** Settings every configuration shares (not tuned). */
  readonly fixed: Readonly<TuningConfig>;
  /** The grid a tuning run tries (at most 6 points, the same budget for every method). */
  readonly grid: readonly Readonly<TuningConfig>[];
  /** The configuration used before any tuning (the recipe's defaults where they exist). */
  readonly untuned: Readonly<TuningConfig>;
  /** The recipe's options of one run: `config` (fixed + tuned, with overrides) and the run. */
  readonly options: (config: Readonly<TuningConfig>, context: TuningContext) => Options;
}

/**
 * Every combination of the axes' values, the first axis varying slowest:
 * `crossGrid({ a: [1, 2], b: [true, false] })` is
 * `[{ a: 1, b: true }, { a: 1, b: false }, { a: 2, b: true }, { a: 2, b: false }]`.
 */
export function crossGrid(
  axes: Readonly<Record<string, ReadonlyArray<number | string | boolean>>>,
): TuningConfig[] {
  let out: TuningConfig[] = [{}];
  for (const [k, vs] of Object.entries(axes)) {
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  return out;
}
