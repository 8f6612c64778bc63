import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, NetworkOutputs } from './distiller/types';
import type { TapOutput } from './tap';

/** What an {@link OfflineTeacherSource} is told about the training data before the first step. */
export interface OfflineTeacherDataInfo {
  /** Rows of the training set (tensor data). */
  rows?: number;
  /** `[rows]` integer labels in row order (tensor data). */
  labels?: ArrayLike<number>;
  /** The student's class count. */
  numClasses?: number;
}

/**
 * A teacher whose outputs were computed offline (e.g. `TeacherOutputs` of
 * `@relkd/teacher-outputs`, read from Parquet or `.npy` shards), passed to `Distiller` as
 * `teacher` instead of a model. Structural: any object with these members works.
 *
 * Each batch's teacher outputs are the rows of its images, by their index in the training set,
 * so shuffling and samplers work. Offline outputs exist only for the data set's own images:
 * recipes that run the teacher on other inputs (VRM's virtual views, STKD's mixed batch in
 * `'teacherOnMixed'` mode) are refused at their first step with `INVALID_OPTION`, before any
 * update; KD, ICC, STKD `'mixedTeacherSoft'` (the teacher on the clean batch) and MTKD-SSR (from
 * stored stage outputs and stage logits, see `recipes/mtkd`) work.
 */
export interface OfflineTeacherSource {
  /** Rows the outputs cover. */
  readonly rowCount: number;
  /**
   * Optional: the per-row shape of each stored output by name (`logits` `[C]`, the features, e.g.
   * `[7, 7, 32]` or pooled `[32]`). Recipes that size their modules from the teacher read it when
   * they are made (`recipes/mtkd`: the stage widths); `TeacherOutputs` has it.
   */
  readonly outputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Optional: where the outputs are (e.g. the manifest's path), named in error messages. */
  readonly description?: string;
  /**
   * Checks the outputs against the training data, before the first step of every
   * `Distiller.fit` (unless `validate: 'none'`); throws a `RelkdError` naming the bad file.
   */
  prepare(info: OfflineTeacherDataInfo): Promise<void>;
  /**
   * The teacher outputs of data set rows `indices`, in that order: `logits` `[B, C]` and named
   * `features`. New tensors; the Distiller disposes them after the step.
   */
  gather(indices: ArrayLike<number>): Promise<TapOutput>;
}

/** `true` for an {@link OfflineTeacherSource} (and not a model). */
export function isOfflineTeacher(x: unknown): x is OfflineTeacherSource {
  return (
    typeof x === 'object' &&
    x !== null &&
    !(x instanceof tfl.LayersModel) &&
    typeof (x as OfflineTeacherSource).gather === 'function' &&
    typeof (x as OfflineTeacherSource).prepare === 'function' &&
    typeof (x as OfflineTeacherSource).rowCount === 'number'
  );
}

/**
 * The teacher outputs of a (transformed) batch from the rows gathered for its original images
 * `original`: the teacher "runs" on `x` only if `x` is still `original`, and on a view only if
 * that view is `original` (STKD's `teacherViews.clean`). Anything else needs the teacher on
 * inputs the offline outputs do not hold: `INVALID_OPTION`.
 */
export function offlineTeacherOutputs(
  gathered: TapOutput,
  original: tf.Tensor,
  batch: Batch,
  teacherWithoutX: (views: Record<string, TapOutput>) => NetworkOutputs,
): NetworkOutputs {
  const refuse = (what: string): never => {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller: the teacher is offline (precomputed outputs of the data set's rows) but this recipe needs it on ${what}, which the outputs do not hold. Use a live teacher (a tf.LayersModel) for it; KD, ICC, STKD with targetMode 'mixedTeacherSoft' and MTKD-SSR (stored stage outputs) work offline.`,
    );
  };
  const viewNames = Object.keys(batch.views);
  if (viewNames.length > 0)
    refuse(`extra input views (${viewNames.join(', ')}), e.g. VRM's virtual views`);
  const views: Record<string, TapOutput> = {};
  for (const [name, v] of Object.entries(batch.teacherViews ?? {})) {
    if (v !== original) refuse(`the transformed input '${name}'`);
    views[name] = gathered;
  }
  if (batch.teacherOnX === false) return teacherWithoutX(views);
  if (batch.x !== original)
    refuse(
      "the batch the transform made (e.g. STKD's mixed images in targetMode 'teacherOnMixed')",
    );
  return { ...gathered, views };
}

/** Disposes gathered outputs. */
export function disposeGathered(gathered: TapOutput | undefined): void {
  if (gathered !== undefined) tf.dispose([gathered.logits, ...Object.values(gathered.features)]);
}
