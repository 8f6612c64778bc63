import type { Module } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { OfflineTeacherSource } from '../offlineTeacher';
import type { ProgressOptions } from '../progress';
import type { TapOutput, TapSpec } from '../tap';

// The public types of the Distiller: batches, terms, hooks, parts, configuration, fit options and
// logs. The class is in ../Distiller.ts; each stage of its work in this folder.

/** One training batch as the terms see it. */
export interface Batch {
  /** Inputs (NHWC images for conv models). The student (and teacher) run on these. */
  x: tf.Tensor;
  /** Integer labels `[B]` (int32). */
  y: tf.Tensor1D;
  /** Extra input batches (e.g. `virtual` views); student and teacher also run on each. */
  views: Record<string, tf.Tensor>;
  /** Extra inputs only the teacher runs on (e.g. the `clean` batch behind a mixup); in `teacher.views`. */
  teacherViews?: Record<string, tf.Tensor>;
  /**
   * `false`: the teacher does not run on `x` (only on `views` and `teacherViews`), saving a forward
   * pass when the terms need the teacher on other inputs only (STKD's `'mixedTeacherSoft'` mode:
   * the teacher runs on the `clean` batch, the student on the mixed `x`). `teacher.logits` and
   * `teacher.features` are then absent: reading them throws `INVALID_OPTION`. Default `true`.
   */
  teacherOnX?: boolean;
  /** Anything else a batch transform wants to hand to its terms (mixup targets, triplet indices). */
  data: Record<string, unknown>;
}

/** Where a batch is in training (handed to batch transforms). */
export interface BatchContext {
  /** 0-based global step. */
  step: number;
  /** 0-based epoch. */
  epoch: number;
  /** A seed derived from the distiller's seed and the step (deterministic runs). */
  seed: number;
}

/** Turns a batch into another (mixup, virtual views, triplets). Runs inside `tf.tidy`. */
export type BatchTransform = (batch: Batch, context: BatchContext) => Batch;

/** A network's outputs on a batch: the tap outputs on `x` and on each view. */
export interface NetworkOutputs extends TapOutput {
  views: Record<string, TapOutput>;
}

/** What a term's loss function receives. */
export interface TermContext {
  batch: Batch;
  student: NetworkOutputs;
  /** `undefined` without a teacher (self-distillation). Constants: no gradient reaches the teacher. */
  teacher: NetworkOutputs | undefined;
  /** Always `true` inside {@link Distiller.step} (modules should run in training mode). */
  training: boolean;
}

/** A term's value: a scalar, or `{ total, ...parts }` as the relkd losses return. */
export type TermResult = tf.Scalar | ({ total: tf.Scalar } & Record<string, tf.Scalar>);

/** One loss added to the student's objective. */
export interface Term {
  /** Name used in logs (`vrm`); sub-parts are logged as `vrm/is`. */
  name: string;
  /** Weight of the term's total in the objective. Default 1. */
  weight?: number;
  /** Builds the (unweighted) term from the outputs. Called inside the gradient closure. */
  loss: (context: TermContext) => TermResult;
}

/** What {@link DistillerHooks.afterUpdate} receives. */
export interface UpdateContext {
  /** The step's batch, after the batch transform (tensors alive until the step ends). */
  batch: Batch;
  /** Runs the student on `x` in inference mode, no tape; returns its tap outputs. */
  runStudent: (x: tf.Tensor) => TapOutput;
  /** The teacher's outputs of this step (constants), `undefined` without a teacher. */
  teacher: NetworkOutputs | undefined;
  /** 0-based global step of the update that just ran. */
  step: number;
  /** 0-based epoch. */
  epoch: number;
}

/** Hooks a recipe may need around steps and epochs. */
export interface DistillerHooks {
  /**
   * After each optimizer step, outside any `tf.tidy`, with the (transformed) batch's labels and the
   * student's logits on `batch.x` (constants; both disposed right after the hook returns).
   */
  afterStep?: (labels: tf.Tensor1D, studentLogits: tf.Tensor) => void;
  /**
   * After each optimizer step (before `afterStep`), outside the gradient closure, with the step's (transformed) batch and a way to run the (just updated)
   * student in inference mode (dropout off, BatchNorm moving statistics, no tape). Runs inside the
   * step's `tf.tidy`: tensors it creates are released when the step ends, so keep state in
   * variables (`assign`) or `tf.keep` it. `recipes.iccTeacher` feeds its tracker here.
   */
  afterUpdate?: (context: UpdateContext) => void;
  /** After each epoch of {@link Distiller.fit}. */
  onEpochEnd?: (epoch: number) => void;
  /**
   * Awaited at the start of every {@link Distiller.fit} call (after its options are checked, before
   * the first step), with the fit's data and options; e.g. `recipes.mtkd` fits the teacher's stage
   * heads here the first time. A hook that must run once keeps its own flag. Not called by `step`.
   */
  beforeFit?: (data: DistillData, options: FitOptions) => void | Promise<void>;
}

/** What a recipe contributes to a {@link DistillerConfig}. */
export interface DistillerParts {
  taps?: { teacher?: TapSpec; student?: TapSpec };
  terms?: Term[];
  modules?: Array<Module<never, tf.TensorContainer>>;
  batchTransform?: BatchTransform;
  ceWeight?: number;
  hooks?: DistillerHooks;
  /**
   * Orders tensor data into batches (e.g. `recipes.corsd`'s class-balanced P × K batches); see
   * {@link BatchSampler}. Absent (default): a seeded shuffle per epoch, or none with
   * `shuffle: false`. Ignored for iterable data, whose batches are the caller's.
   */
  sampler?: BatchSampler;
}

/** What a {@link BatchSampler} is given, once per epoch of {@link Distiller.fit}. */
export interface BatchSamplerArgs {
  /** The `[N]` int class labels of the whole tensor data set, read once per `fit` (argMax of one-hot labels). */
  labels: Int32Array;
  /** The fit's `batchSize`. */
  batchSize: number;
  /** The distiller's seed. */
  seed: number;
  /** 0-based epoch. */
  epoch: number;
}

/**
 * Returns the sample order of one epoch for tensor data `{ x, y }`: indices into `[0, N)`,
 * cut into consecutive batches of `batchSize` (the last one may be shorter); repeats are
 * allowed and the order may be longer or shorter than N (the epoch is as long as the order).
 * Replaces `fit`'s shuffle. Indices are checked (`INVALID_OPTION` when not integers in range).
 */
export type BatchSampler = (args: BatchSamplerArgs) => ArrayLike<number>;

/** Configuration of a {@link Distiller}. */
export interface DistillerConfig extends DistillerParts {
  /** The model being trained. */
  student: tfl.LayersModel;
  /**
   * A trained model; frozen (`trainable = false`), run in inference mode outside the gradient
   * closure. Or an {@link OfflineTeacherSource} (precomputed outputs, e.g. `TeacherOutputs` of
   * `@relkd/teacher-outputs`): each batch gets the rows of its images by index. Optional
   * (self-distillation).
   */
  teacher?: tfl.LayersModel | OfflineTeacherSource | undefined;
  /**
   * Default `new FusedAdamOptimizer(1e-3)` (@relkd/core): `tf.train.adam(1e-3)`'s updates,
   * bit-identical, as one kernel per variable on the cpu and wasm backends.
   */
  optimizer?: tf.Optimizer;
  /** Seed for shuffling and batch transforms. Default 0. */
  seed?: number;
}

/** Loss parts of one step, read back from the device once. */
export interface StepResult {
  total: number;
  parts: Record<string, number>;
}

/** A data set: tensors `{ x, y }`, or batches from a (async) iterable / `tf.data.Dataset`. */
export type DistillData =
  | { x: tf.Tensor; y: tf.Tensor }
  | Iterable<BatchLike>
  | AsyncIterable<BatchLike>
  | { iterator(): Promise<{ next(): Promise<IteratorResult<BatchLike>> }> };

/**
 * One batch from an iterable data set. `index` (optional): the data set row of each image, which
 * an offline teacher needs.
 */
export type BatchLike = ({ xs: tf.Tensor; ys: tf.Tensor } | { x: tf.Tensor; y: tf.Tensor }) & {
  index?: ArrayLike<number>;
};

/** Per-epoch log of {@link Distiller.fit}. */
export interface EpochLog {
  /** 0-based epoch. */
  epoch: number;
  /** Mean of each loss part over the epoch's batches (`total` included). */
  loss: Record<string, number>;
  /** Wall-clock seconds of the epoch (training only). */
  seconds: number;
  /** Student's accuracy and CE on `validationData`, when given. */
  val?: { accuracy: number; loss: number };
}

/** Options of {@link Distiller.fit}. */
export interface FitOptions {
  /**
   * How many epochs to train. Default 1. When the fit starts from an initial epoch (an explicit
   * {@link FitOptions.initialEpoch}, or the epoch counter restored by {@link Distiller.load}),
   * `epochs` is the index of the final epoch, as in tfjs `model.fit`: epochs
   * `initialEpoch … epochs − 1` run (none when `initialEpoch >= epochs`). Otherwise `epochs` more
   * epochs run, numbered on from the distiller's epoch counter.
   */
  epochs?: number;
  /** Batch size for tensor data. Default 32. */
  batchSize?: number;
  /** Shuffle tensor data each epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Tensors `{ x, y }` evaluated (student accuracy and CE, inference mode) after each epoch. */
  validationData?: { x: tf.Tensor; y: tf.Tensor };
  /**
   * Epoch to start at (resume), `model.fit`-style: with it, `epochs` is the index of the final
   * epoch. Default: after {@link Distiller.load}, the restored epoch counter (same semantics);
   * otherwise the distiller's epoch counter, and `epochs` counts the epochs to run.
   * The seeded shuffle and batch transforms depend on the epoch index, so a resumed run sees the
   * same batches as an uninterrupted one.
   */
  initialEpoch?: number;
  callbacks?: {
    onBatchEnd?: (batch: number, result: StepResult) => void | Promise<void>;
    onEpochEnd?: (epoch: number, log: EpochLog) => void | Promise<void>;
  };
  /** `true` prints a progress bar (TTY) or one line per epoch (not a TTY). Default false. */
  progress?: boolean | ProgressOptions;
  /**
   * Set-up checks before training, all before any weight changes (default `'once'`):
   * - a one-sample dry run of the student and the teacher in inference mode (no weight or
   *   BatchNorm-statistics change): the sample's shape must match each model's input shape, the
   *   outputs must be `[B, C]` logits and the teacher's `C` must equal the student's
   *   (`SHAPE_MISMATCH`, naming both models);
   * - labels, read once: `[N]` integers (int32, or float32 holding integers) in `[0, C)`, or
   *   `[N, C]` one-hot rows, where `C` is the student's output width (`DTYPE_MISMATCH`,
   *   `RANK_MISMATCH`, `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`); `validationData` likewise.
   *
   * For tensor data `{ x, y }` the checks run at the start of `fit` (before `hooks.beforeFit`) on
   * the whole label tensor; for iterables and datasets, on the first batch of the fit, before its
   * step. `'none'` skips them (e.g. a feature-only distillation between models with different
   * class counts, or soft labels on purpose). The form of `data` (tensors `{ x, y }`, batches
   * `{ xs, ys }` / `{ x, y }`) is always checked (`INVALID_OPTION`).
   */
  validate?: FitValidate;
}

/** The set-up checks of {@link Distiller.fit}: `'once'` per fit (default) or `'none'`. */
export type FitValidate = 'once' | 'none';

/** Returned by {@link Distiller.fit}. */
export interface History {
  epochs: EpochLog[];
}
