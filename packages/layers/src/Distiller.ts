import { crossEntropy, formatShape, type Module, RelkdError, Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadFromDirectory, saveToDirectory } from './node/files';
import {
  disposeGathered,
  isOfflineTeacher,
  type OfflineTeacherSource,
  offlineTeacherOutputs,
} from './offlineTeacher';
import { ProgressBar, type ProgressOptions } from './progress';
import { type Tap, type TapOutput, type TapSpec, tap } from './tap';

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
  /** Default `tf.train.adam(1e-3)`. */
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

interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

const MODULE_PREFIX = 'relkd_module';
const OPTIMIZER_PREFIX = 'relkd_optimizer';

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** Teacher outputs when `batch.teacherOnX` is `false`: `views` only; `logits`/`features` throw. */
function teacherWithoutX(views: Record<string, TapOutput>): NetworkOutputs {
  const absent = (): never => {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller: the teacher did not run on batch.x (the batch transform set teacherOnX: false); read teacher.views (${Object.keys(views).join(', ') || 'none'}) instead.`,
    );
  };
  const out = { views } as NetworkOutputs;
  // Non-enumerable, so spreading or listing the outputs does not trip them.
  Object.defineProperty(out, 'logits', { get: absent, enumerable: false });
  Object.defineProperty(out, 'features', { get: absent, enumerable: false });
  return out;
}

function toLabelTensor(y: tf.Tensor): tf.Tensor1D {
  if (y.rank === 2) return tf.argMax(y, 1) as tf.Tensor1D;
  if (y.rank !== 1) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `Distiller: labels must be [B] integers or [B, C] one-hot, got rank ${y.rank}.`,
    );
  }
  return (y.dtype === 'int32' ? y.clone() : tf.cast(y, 'int32')) as tf.Tensor1D;
}

/**
 * Trains a student `tf.LayersModel` with relkd losses against a frozen teacher (or none, for
 * self-distillation), updating only the student's and the extra modules' variables.
 *
 * Each {@link Distiller.step}: batch transform -> teacher forward (inference mode, no tape) ->
 * `optimizer.minimize(closure, false, varList)` where the closure runs the student in training
 * mode and sums `ceWeight·CE + Σ weight·term`, with `varList` = student trainable weights +
 * modules' trainable variables (never the teacher's) -> `hooks.afterUpdate` -> all loss parts
 * read back with one `tf.stack` + one read. The teacher skips `x` when the batch says
 * `teacherOnX: false`.
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, optimizer: tf.train.adam(1e-3),
 *   ...recipes.kd({ temperature: 4, weight: 0.9 }) });
 * await distiller.fit({ x, y }, { epochs: 5, batchSize: 64, progress: true });
 * ```
 */
export class Distiller {
  readonly student: tfl.LayersModel;
  readonly teacher: tfl.LayersModel | undefined;
  /** The offline teacher, when `teacher` was an {@link OfflineTeacherSource} (then `teacher` is `undefined`). */
  readonly offlineTeacher: OfflineTeacherSource | undefined;
  readonly optimizer: tf.Optimizer;
  readonly terms: readonly Term[];
  readonly modules: ReadonlyArray<Module<never, tf.TensorContainer>>;
  readonly ceWeight: number;
  /** Set to `true` (e.g. in a callback) to stop {@link Distiller.fit} after the current batch. */
  stopTraining = false;
  /** Global step counter (survives save/resume). */
  stepCount = 0;
  /** Epoch counter (survives save/resume). */
  epochCount = 0;
  private readonly studentTap: Tap;
  private readonly teacherTap: Tap | undefined;
  private readonly batchTransform: BatchTransform | undefined;
  private readonly sampler: BatchSampler | undefined;
  private readonly hooks: DistillerHooks;
  private readonly seed: number;
  /** The optimizer was created here (no `optimizer` in the config): `dispose` releases it. */
  private readonly ownsOptimizer: boolean;
  private currentEpoch = 0;
  /** Set by {@link Distiller.load}: the next fit resumes `model.fit`-style from this epoch. */
  private resumeEpoch: number | undefined;
  /** The student's output width, once known. */
  private classCount: number | undefined;

  constructor(config: DistillerConfig) {
    const { student } = config;
    const offline = isOfflineTeacher(config.teacher) ? config.teacher : undefined;
    const teacher =
      offline === undefined ? (config.teacher as tfl.LayersModel | undefined) : undefined;
    if (offline !== undefined && config.taps?.teacher !== undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        "Distiller: taps.teacher with an offline teacher: its features are the outputs' names, not layers.",
      );
    }
    if (!(student instanceof tfl.LayersModel)) {
      throw new RelkdError('INVALID_OPTION', 'Distiller: `student` must be a tf.LayersModel.');
    }
    if (teacher !== undefined && !(teacher instanceof tfl.LayersModel)) {
      throw new RelkdError(
        'INVALID_OPTION',
        'Distiller: `teacher` must be a tf.LayersModel, an offline teacher source or undefined.',
      );
    }
    if (teacher === student) {
      throw new RelkdError(
        'INVALID_OPTION',
        'Distiller: teacher and student are the same model; omit the teacher for self-distillation.',
      );
    }
    const ceWeight = config.ceWeight ?? 1;
    if (!Number.isFinite(ceWeight) || ceWeight < 0) {
      throw new RelkdError(
        'INVALID_OPTION',
        `Distiller: ceWeight must be a finite number >= 0, got ${ceWeight}.`,
      );
    }
    const names = new Set<string>(['total', 'ce']);
    for (const term of config.terms ?? []) {
      if (typeof term.name !== 'string' || term.name === '' || typeof term.loss !== 'function') {
        throw new RelkdError(
          'INVALID_OPTION',
          'Distiller: every term needs a non-empty `name` and a `loss` function.',
        );
      }
      if (names.has(term.name)) {
        throw new RelkdError(
          'INVALID_OPTION',
          `Distiller: duplicate or reserved term name '${term.name}'.`,
        );
      }
      names.add(term.name);
      const w = term.weight ?? 1;
      if (!Number.isFinite(w)) {
        throw new RelkdError(
          'INVALID_OPTION',
          `Distiller: term '${term.name}' has a non-finite weight ${w}.`,
        );
      }
    }
    this.student = student;
    this.teacher = teacher;
    this.offlineTeacher = offline;
    this.terms = [...(config.terms ?? [])];
    this.modules = [...(config.modules ?? [])];
    this.ceWeight = ceWeight;
    this.ownsOptimizer = config.optimizer === undefined;
    this.optimizer = config.optimizer ?? tf.train.adam(1e-3);
    this.batchTransform = config.batchTransform;
    if (config.sampler !== undefined && typeof config.sampler !== 'function') {
      throw new RelkdError('INVALID_OPTION', 'Distiller: `sampler` must be a function.');
    }
    this.sampler = config.sampler;
    this.hooks = config.hooks ?? {};
    this.seed = config.seed ?? 0;
    this.studentTap = tap(student, config.taps?.student ?? {});
    if (teacher !== undefined) {
      teacher.trainable = false;
      this.teacherTap = tap(teacher, config.taps?.teacher ?? {});
      const teacherIds = new Set(teacher.weights.map((w) => w.read().id));
      if (this.varList().some((v) => teacherIds.has(v.id))) {
        throw new RelkdError(
          'INVALID_OPTION',
          'Distiller: the student shares variables with the teacher; the teacher must stay frozen.',
        );
      }
    } else if (config.taps?.teacher !== undefined) {
      throw new RelkdError('INVALID_OPTION', 'Distiller: taps.teacher given without a teacher.');
    }
  }

  /** The variables the optimizer updates: the student's trainable weights and the modules' trainable variables. */
  varList(): tf.Variable[] {
    const vars = this.student.trainableWeights.map((w) => w.read() as tf.Variable);
    for (const m of this.modules) vars.push(...m.trainableVariables);
    return vars;
  }

  private forward(t: Tap, batch: Batch, training: boolean, teacher = false): NetworkOutputs {
    const skipX = teacher && batch.teacherOnX === false;
    const out = skipX ? undefined : t(batch.x, { training });
    const views: Record<string, TapOutput> = {};
    for (const [k, v] of Object.entries(batch.views)) views[k] = t(v, { training });
    if (teacher)
      for (const [k, v] of Object.entries(batch.teacherViews ?? {})) views[k] = t(v, { training });
    return out === undefined ? teacherWithoutX(views) : { ...out, views };
  }

  /** Runs one step and returns the kept `[P]` tensor of parts, with their names. */
  private runStep(
    x: tf.Tensor,
    y: tf.Tensor,
    offline?: TapOutput,
  ): { values: tf.Tensor1D; names: string[] } {
    if (!isTensor(x) || !isTensor(y)) {
      throw new RelkdError('INVALID_OPTION', 'Distiller.step: x and y must be tensors.');
    }
    if (x.shape[0] !== y.shape[0]) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Distiller.step: x has ${x.shape[0]} rows but y has ${y.shape[0]}.`,
      );
    }
    // Cheap (no read-back): a typed error instead of tfjs's ValueError from inside the closure.
    this.checkInputShape(x, 'x', 'Distiller.step');
    const names: string[] = ['total'];
    const step = this.stepCount;
    let keptLogits: tf.Tensor | undefined;
    let keptLabels: tf.Tensor1D | undefined;
    const values = tf.tidy(() => {
      let batch: Batch = { x, y: toLabelTensor(y), views: {}, data: {} };
      if (this.batchTransform !== undefined) {
        batch = this.batchTransform(batch, {
          step,
          epoch: this.currentEpoch,
          seed: (this.seed * 1_000_003 + step * 7919 + 1) >>> 0,
        });
      }
      // Teacher: inference mode, no gradient tape, its outputs are constants for the closure.
      const teacherOut =
        offline !== undefined
          ? offlineTeacherOutputs(offline, x, batch, teacherWithoutX)
          : this.teacherTap === undefined
            ? undefined
            : this.forward(this.teacherTap, batch, false, true);
      let parts: tf.Tensor1D | undefined;
      // An exception inside an optimizer.minimize closure leaks the tape's tensors in tfjs-core
      // 4.22, so errors are caught inside, an unconnected zero is returned (minimize then throws
      // without applying anything) and the original error is rethrown.
      let failure: { error: unknown } | undefined;
      try {
        this.optimizer.minimize(
          () => {
            try {
              const student = this.forward(this.studentTap, batch, true);
              const scalars: tf.Scalar[] = [];
              const localNames: string[] = [];
              let total: tf.Scalar = tf.scalar(0);
              if (this.ceWeight > 0) {
                const ce = crossEntropy(student.logits as tf.Tensor2D, batch.y);
                total = tf.add(total, tf.mul(ce, this.ceWeight));
                scalars.push(ce);
                localNames.push('ce');
              }
              const ctx: TermContext = { batch, student, teacher: teacherOut, training: true };
              for (const term of this.terms) {
                const r = term.loss(ctx);
                const termTotal = isTensor(r) ? r : r.total;
                if (!isTensor(termTotal) || termTotal.size !== 1) {
                  throw new RelkdError(
                    'INVALID_OPTION',
                    `Distiller: term '${term.name}' must return a scalar or { total, ...parts }.`,
                  );
                }
                total = tf.add(total, tf.mul(tf.reshape(termTotal, []), term.weight ?? 1));
                scalars.push(tf.reshape(termTotal, []));
                localNames.push(term.name);
                if (!isTensor(r)) {
                  for (const [k, v] of Object.entries(r)) {
                    if (k === 'total' || !isTensor(v) || v.size !== 1) continue;
                    scalars.push(tf.reshape(v, []));
                    localNames.push(`${term.name}/${k}`);
                  }
                }
              }
              names.push(...localNames);
              parts = tf.keep(tf.stack([total, ...scalars]) as tf.Tensor1D);
              if (this.hooks.afterStep !== undefined)
                keptLogits = tf.keep(tf.clone(student.logits));
              return total;
            } catch (error) {
              failure = { error };
              return tf.scalar(0);
            }
          },
          false,
          this.varList(),
        );
      } catch (error) {
        throw failure === undefined ? error : failure.error;
      }
      if (failure !== undefined) throw failure.error;
      try {
        this.hooks.afterUpdate?.({
          batch,
          runStudent: (input) => this.studentTap(input, { training: false }),
          teacher: teacherOut,
          step,
          epoch: this.currentEpoch,
        });
      } catch (error) {
        parts?.dispose();
        keptLogits?.dispose();
        throw error;
      }
      if (this.hooks.afterStep !== undefined) keptLabels = tf.keep(tf.clone(batch.y));
      return parts!;
    });
    if (
      this.hooks.afterStep !== undefined &&
      keptLogits !== undefined &&
      keptLabels !== undefined
    ) {
      try {
        this.hooks.afterStep(keptLabels, keptLogits);
      } finally {
        keptLogits.dispose();
        keptLabels.dispose();
      }
    }
    this.stepCount++;
    return { values, names };
  }

  private static unpack(values: ArrayLike<number>, names: string[]): StepResult {
    const parts: Record<string, number> = {};
    names.forEach((n, i) => {
      if (n !== 'total') parts[n] = values[i]!;
    });
    return { total: values[0]!, parts };
  }

  /**
   * One training step on `(x, y)`: returns the total and every loss part (unweighted), read back
   * from the device with a single synchronous read. Labels: `[B]` int32 or `[B, C]` one-hot.
   * `x`'s per-sample shape must fit the student's (and teacher's) input shape (`SHAPE_MISMATCH`);
   * the other set-up checks of {@link Distiller.fit} (dry run, label values) are not run here.
   */
  step(x: tf.Tensor, y: tf.Tensor): StepResult {
    if (this.offlineTeacher !== undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        'Distiller.step: an offline teacher needs the rows of the batch: call stepAsync(x, y, rows) or fit.',
      );
    }
    const { values, names } = this.runStep(x, y);
    try {
      return Distiller.unpack(values.dataSync(), names);
    } finally {
      values.dispose();
    }
  }

  /**
   * {@link Distiller.step} with an asynchronous read-back (preferred on GPU backends). With an
   * offline teacher, `rows` (the data set index of each row of `x`, required) selects its outputs.
   */
  async stepAsync(x: tf.Tensor, y: tf.Tensor, rows?: ArrayLike<number>): Promise<StepResult> {
    let gathered: TapOutput | undefined;
    if (this.offlineTeacher !== undefined) {
      if (rows === undefined || rows.length !== x.shape[0]) {
        throw new RelkdError(
          'INVALID_OPTION',
          `Distiller: an offline teacher needs the data set row of each of the batch's ${x.shape[0]} images (got ${rows === undefined ? 'none' : rows.length}); fit tensor data { x, y }, or give iterable batches an \`index\` array.`,
        );
      }
      gathered = await this.offlineTeacher.gather(rows);
    }
    try {
      const { values, names } = this.runStep(x, y, gathered);
      try {
        return Distiller.unpack(await values.data(), names);
      } finally {
        values.dispose();
      }
    } finally {
      disposeGathered(gathered);
    }
  }

  /** Student accuracy and mean CE on `(x, y)` in inference mode, in batches. */
  async evaluate(
    x: tf.Tensor,
    y: tf.Tensor,
    batchSize = 256,
  ): Promise<{ accuracy: number; loss: number }> {
    return evaluateModel(this.studentTap, x, y, batchSize);
  }

  /**
   * Trains for `epochs` epochs. Tensor data is shuffled (seeded) and batched; iterables yield
   * ready batches. Returns the per-epoch history (loss part means, time, validation metrics).
   *
   * Before any weight changes it checks the options, the form of `data` and (unless
   * `validate: 'none'`) the set-up: a one-sample dry run of both models and the labels; see
   * {@link FitOptions.validate}. After {@link Distiller.load} (or with `initialEpoch`) it resumes
   * `model.fit`-style; see {@link FitOptions.epochs}.
   *
   * @throws RelkdError `INVALID_OPTION` (options; data that is not `{ x, y }` tensors, an
   *   iterable of `{ xs, ys }` / `{ x, y }` batches or a `tf.data.Dataset`, e.g. `fit([x, y])`),
   *   `SHAPE_MISMATCH` (input shape; teacher and student class counts; rows of x and y),
   *   `EMPTY_BATCH`, and the label codes `DTYPE_MISMATCH` / `RANK_MISMATCH` /
   *   `LABEL_OUT_OF_RANGE`; all before the first update.
   * @example
   * ```ts
   * await distiller.fit({ x, y }, { epochs: 10, batchSize: 64 });
   * await distiller.load('./ckpt');                 // saved after epoch 4
   * await distiller.fit({ x, y }, { epochs: 10 });  // trains epochs 4 … 9
   * ```
   */
  async fit(data: DistillData, options: FitOptions = {}): Promise<History> {
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(epochs) || epochs < 0) {
      throw new RelkdError(
        'INVALID_OPTION',
        `Distiller.fit: epochs must be an integer >= 0, got ${epochs}.`,
      );
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        `Distiller.fit: batchSize must be an integer >= 1, got ${batchSize}.`,
      );
    }
    const { initialEpoch } = options;
    if (initialEpoch !== undefined && (!Number.isInteger(initialEpoch) || initialEpoch < 0)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `Distiller.fit: initialEpoch must be an integer >= 0, got ${initialEpoch}.`,
      );
    }
    const validate = options.validate ?? 'once';
    if (validate !== 'once' && validate !== 'none') {
      throw new RelkdError(
        'INVALID_OPTION',
        `Distiller.fit: validate must be 'once' or 'none', got ${JSON.stringify(validate)}.`,
      );
    }
    const form = dataForm(data);
    const { validationData } = options;
    if (
      validationData !== undefined &&
      !(isObjectLike(validationData) && isTensor(validationData.x) && isTensor(validationData.y))
    ) {
      throw new RelkdError(
        'INVALID_OPTION',
        'Distiller.fit: validationData must be { x, y } tensors.',
      );
    }
    let labelIndices: Int32Array | undefined;
    if (form === 'tensors') {
      const { x, y } = data as { x: tf.Tensor; y: tf.Tensor };
      checkRows(x, y, 'data');
      if (x.shape[0] === 0) {
        throw new RelkdError('EMPTY_BATCH', 'Distiller.fit: data.x has no rows.');
      }
      if (validate === 'once') labelIndices = await this.checkSetup(x, y, 'data');
    }
    if (validationData !== undefined) {
      checkRows(validationData.x, validationData.y, 'validationData');
      if (validate === 'once') {
        this.checkInputShape(validationData.x, 'validationData.x');
        await checkLabels(validationData.y, this.numClasses(), 'validationData.y');
      }
    }
    // model.fit semantics when starting from an initial epoch (explicit, or restored by load).
    if (this.offlineTeacher !== undefined && validate === 'once') {
      const x = form === 'tensors' ? (data as { x: tf.Tensor }).x : undefined;
      await this.offlineTeacher.prepare({
        ...(x === undefined ? {} : { rows: x.shape[0] }),
        ...(labelIndices === undefined ? {} : { labels: labelIndices }),
        numClasses: this.numClasses(),
      });
    }
    const resumeFrom = initialEpoch ?? this.resumeEpoch;
    const start = resumeFrom ?? this.epochCount;
    const end = resumeFrom === undefined ? start + epochs : epochs;
    this.resumeEpoch = undefined;
    await this.hooks.beforeFit?.(data, options);
    const bar =
      options.progress === undefined || options.progress === false
        ? undefined
        : new ProgressBar(options.progress === true ? {} : options.progress);
    const history: History = { epochs: [] };
    this.stopTraining = false;
    // A sampler sees the labels of tensor data, read once per fit.
    const sampledLabels =
      this.sampler !== undefined && form === 'tensors'
        ? (labelIndices ?? (await readAllLabels((data as { y: tf.Tensor }).y)))
        : undefined;
    let firstBatch = form !== 'tensors' && validate === 'once';
    for (let epoch = start; epoch < end && !this.stopTraining; epoch++) {
      this.currentEpoch = epoch;
      const t0 = Date.now();
      const sums: Record<string, number> = {};
      let count = 0;
      let batches = 0;
      const order =
        sampledLabels === undefined
          ? undefined
          : sampleOrder(this.sampler!, sampledLabels, batchSize, this.seed, epoch);
      const numBatches =
        order !== undefined
          ? Math.ceil(order.length / batchSize)
          : form === 'tensors'
            ? Math.ceil((data as { x: tf.Tensor }).x.shape[0] / batchSize)
            : Number.NaN;
      for await (const [bx, by, owned, rows] of iterateBatches(
        data,
        batchSize,
        options.shuffle ?? true,
        this.seed + epoch,
        order,
      )) {
        let result: StepResult;
        try {
          if (firstBatch) {
            // Iterables: the set-up is checked on the fit's first batch, before its step.
            checkRows(bx, by, 'the first batch');
            await this.checkSetup(bx, by, 'the first batch');
            firstBatch = false;
          }
          result = await this.stepAsync(bx, by, rows);
        } finally {
          if (owned) tf.dispose([bx, by]);
        }
        sums.total = (sums.total ?? 0) + result.total;
        for (const [k, v] of Object.entries(result.parts)) sums[k] = (sums[k] ?? 0) + v;
        count++;
        batches++;
        if (bar !== undefined) {
          const running = Object.fromEntries(
            Object.entries(sums)
              .filter(([k]) => !k.includes('/'))
              .map(([k, v]) => [k, v / count]),
          );
          bar.update(
            epoch + 1,
            end,
            batches,
            Number.isNaN(numBatches) ? batches : numBatches,
            (Date.now() - t0) / 1000,
            running,
          );
        }
        await options.callbacks?.onBatchEnd?.(batches - 1, result);
        if (this.stopTraining) break;
      }
      const seconds = (Date.now() - t0) / 1000;
      const loss = Object.fromEntries(
        Object.entries(sums).map(([k, v]) => [k, v / Math.max(count, 1)]),
      );
      const log: EpochLog = { epoch, loss, seconds };
      this.hooks.onEpochEnd?.(epoch);
      if (validationData !== undefined) {
        log.val = await this.evaluate(validationData.x, validationData.y);
      }
      this.epochCount = epoch + 1;
      history.epochs.push(log);
      if (bar !== undefined) {
        const shown = Object.fromEntries(Object.entries(loss).filter(([k]) => !k.includes('/')));
        bar.endEpoch(
          epoch + 1,
          end,
          seconds,
          shown,
          log.val ? `val acc ${(100 * log.val.accuracy).toFixed(2)}%` : '',
        );
      }
      await options.callbacks?.onEpochEnd?.(epoch, log);
    }
    return history;
  }

  /** The student's number of classes: the last dimension of its (tapped) logits. */
  private numClasses(): number {
    if (this.classCount !== undefined) return this.classCount;
    const shape = this.studentTap.model.outputs[0]!.shape;
    const c = shape[shape.length - 1];
    if (shape.length === 2 && typeof c === 'number') this.classCount = c;
    return this.classCount ?? this.dryRunClasses();
  }

  /** Runs the student on one zero sample of its input shape to learn its output width. */
  private dryRunClasses(): number {
    const input = this.student.inputs[0]!.shape;
    if (input.slice(1).some((d) => d === null)) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Distiller.fit: cannot tell how many classes the student '${this.student.name}' outputs (its input shape ${JSON.stringify(input)} has free dimensions); pass validate: 'none' to skip the label check.`,
      );
    }
    const c = tf.tidy(() => {
      const out = this.studentTap(tf.zeros([1, ...(input.slice(1) as number[])]), {
        training: false,
      }).logits;
      return out.shape[out.shape.length - 1]!;
    });
    this.classCount = c;
    return c;
  }

  /**
   * Checks `x`'s per-sample shape against the student's and the teacher's input shapes
   * (`SHAPE_MISMATCH`, naming the model, the expected and the actual shape).
   */
  private checkInputShape(x: tf.Tensor, where: string, who = 'Distiller.fit'): void {
    for (const [role, model] of [
      ['student', this.student],
      ['teacher', this.teacher],
    ] as const) {
      if (model === undefined || model.inputs.length !== 1) continue;
      const expected = model.inputs[0]!.shape.slice(1);
      const actual = x.shape.slice(1);
      const fits =
        expected.length === actual.length &&
        expected.every((d, i) => d === null || d === actual[i]);
      if (!fits) {
        const want = `[${expected.map((d) => (d === null ? '*' : d)).join(', ')}]`;
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `${who}: ${where} has per-sample shape ${formatShape(actual)} (full shape ${formatShape(x.shape)}) but the ${role} '${model.name}' expects ${want} (input shape [batch, ${want.slice(1)}). Reshape the data (e.g. tf.reshape(x, [-1, ${expected.map((d) => d ?? -1).join(', ')}])) or fix the model's inputShape.`,
          { role, model: model.name, expected, actual },
        );
      }
    }
  }

  /**
   * The set-up checks of {@link FitOptions.validate} on data `(x, y)` (`where` names it in
   * messages): input shapes, a one-sample inference-mode dry run of the raw student and teacher
   * (not through the terms or the batch transform), class counts, then the labels (one read).
   * Returns the labels as class indices.
   */
  private async checkSetup(x: tf.Tensor, y: tf.Tensor, where: string): Promise<Int32Array> {
    this.checkInputShape(x, `${where}.x`);
    const classes = tf.tidy(() => {
      const sample = x.shape[0] === 1 ? x : tf.slice(x, 0, 1);
      const run = (role: 'student' | 'teacher', t: Tap, model: tfl.LayersModel): number => {
        let logits: tf.Tensor;
        try {
          logits = t(sample, { training: false }).logits;
        } catch (e) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the ${role} '${model.name}' failed on one sample of ${where}.x (shape ${formatShape(sample.shape)}): ${(e as Error).message}`,
            { role, model: model.name, cause: e },
          );
        }
        if (logits.rank !== 2) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the ${role} '${model.name}' must output [B, C] logits, got shape ${formatShape(logits.shape)} for one sample; end it in a Dense/flatten layer or tap the logits layer (taps.${role}.logits).`,
            { role, model: model.name, shape: logits.shape },
          );
        }
        return logits.shape[1]!;
      };
      const s = run('student', this.studentTap, this.student);
      if (this.teacherTap !== undefined && this.teacher !== undefined) {
        const t = run('teacher', this.teacherTap, this.teacher);
        if (t !== s) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.fit: the teacher '${this.teacher.name}' outputs ${t} classes but the student '${this.student.name}' outputs ${s}; both must predict the same classes (pass validate: 'none' for a feature-only distillation).`,
            { teacher: this.teacher.name, student: this.student.name, classes: [t, s] },
          );
        }
      }
      return s;
    });
    this.classCount = classes;
    return checkLabels(y, classes, `${where}.y`);
  }

  /**
   * Writes the student's topology and weights, the modules' weights and the optimizer state as one
   * tfjs `layers-model` artifact, with the step and epoch counters in `userDefinedMetadata.relkd`.
   * `target`: a directory in Node (`'./ckpt'` or `'file://ckpt'`: tfjs-node's layout,
   * `model.json` + `weights.bin`, written atomically, see `saveToDirectory`), another tfjs URL
   * (`'indexeddb://ckpt'`, resolved through `tf.io`'s routers), or any `tf.io.IOHandler`. The
   * student loads alone with `tf.loadLayersModel(source, { strict: false })` (the extra weights
   * are skipped); {@link Distiller.load} restores everything to resume.
   *
   * @throws RelkdError `IO_ERROR` when the directory cannot be written (no half-written
   *   checkpoint is left), `INVALID_OPTION` for a URL no router handles or a handler without `save`
   */
  async save(target: string | tf.io.IOHandler): Promise<tf.io.SaveResult> {
    let captured: tf.io.ModelArtifacts | undefined;
    await this.student.save(
      tf.io.withSaveHandler(async (a) => {
        captured = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const artifacts = captured!;
    const extra: NamedTensor[] = [];
    this.modules.forEach((m, i) => {
      for (const v of m.namedVariables())
        extra.push({ name: `${MODULE_PREFIX}${i}/${v.path}`, tensor: v.variable });
    });
    const optWeights = await this.optimizer.getWeights();
    optWeights.forEach((w, i) => {
      extra.push({ name: `${OPTIMIZER_PREFIX}/${i}/${w.name}`, tensor: w.tensor });
    });
    let enc: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
    try {
      enc = await tf.io.encodeWeights(extra);
    } finally {
      // getWeights() makes a fresh tensor for the iteration count; the rest are its variables.
      for (const w of optWeights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
    const studentData = tf.io.CompositeArrayBuffer.join(
      artifacts.weightData as ArrayBuffer | ArrayBuffer[],
    );
    const weightData = tf.io.concatenateArrayBuffers([studentData, enc.data]);
    const full: tf.io.ModelArtifacts = {
      ...artifacts,
      weightSpecs: [...(artifacts.weightSpecs ?? []), ...enc.specs],
      weightData,
      userDefinedMetadata: {
        relkd: {
          stepCount: this.stepCount,
          epochCount: this.epochCount,
          modules: this.modules.length,
          optimizerWeights: optWeights.length,
        },
      },
    };
    const handler = typeof target === 'string' ? stringHandler(target, 'save') : target;
    if (handler === undefined) return saveToDirectory(target as string, full);
    if (handler.save === undefined)
      throw new RelkdError('INVALID_OPTION', 'Distiller.save: the handler has no save().');
    return handler.save(full);
  }

  /**
   * Restores what {@link Distiller.save} wrote (student, modules, optimizer state, counters) from
   * the same kinds of `source` (a directory or its `model.json` in Node, a tfjs URL, an
   * `IOHandler`). The next {@link Distiller.fit} resumes like `model.fit` with `initialEpoch`: it
   * starts at the saved epoch counter and `epochs` is the index of the final epoch (see
   * {@link FitOptions.initialEpoch}).
   *
   * @throws RelkdError `IO_ERROR` (missing or corrupt files), `SHAPE_MISMATCH` (a checkpoint of
   *   another architecture), `INVALID_OPTION` (no weights)
   */
  async load(source: string | tf.io.IOHandler): Promise<void> {
    const handler = typeof source === 'string' ? stringHandler(source, 'load') : source;
    const artifacts =
      handler === undefined ? await loadFromDirectory(source as string) : await handler.load?.();
    if (artifacts?.weightSpecs === undefined || artifacts.weightData === undefined) {
      throw new RelkdError('INVALID_OPTION', 'Distiller.load: no weights found in the checkpoint.');
    }
    const map = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
    try {
      // By name; by position (the student's weights come first) when names differ, e.g. a
      // model rebuilt in the same process gets fresh layer-name suffixes.
      const specs = artifacts.weightSpecs;
      const studentWeights = this.student.weights.map((w, i) => {
        const t = map[w.originalName] ?? map[w.name] ?? map[specs[i]?.name ?? ''];
        if (t === undefined || !tf.util.arraysEqual(t.shape, w.shape as number[])) {
          throw new RelkdError(
            'SHAPE_MISMATCH',
            `Distiller.load: the checkpoint has no weight matching '${w.originalName}' ${JSON.stringify(w.shape)} of the student.`,
          );
        }
        return t;
      });
      this.student.setWeights(studentWeights);
      for (let i = 0; i < this.modules.length; i++) {
        const m = this.modules[i]!;
        const weights = m.namedVariables().map((v) => {
          const t = map[`${MODULE_PREFIX}${i}/${v.path}`];
          if (t === undefined) {
            throw new RelkdError(
              'SHAPE_MISMATCH',
              `Distiller.load: the checkpoint has no weight '${v.path}' of module ${i} (${m.name}).`,
            );
          }
          return t;
        });
        m.setWeights(weights);
      }
      const meta = (artifacts.userDefinedMetadata?.relkd ?? {}) as {
        stepCount?: number;
        epochCount?: number;
        optimizerWeights?: number;
      };
      const opt: Array<NamedTensor & { index: number }> = [];
      for (const [name, tensor] of Object.entries(map)) {
        if (name.startsWith(`${OPTIMIZER_PREFIX}/`)) {
          const rest = name.slice(OPTIMIZER_PREFIX.length + 1);
          const slash = rest.indexOf('/');
          opt.push({ name: rest.slice(slash + 1), tensor, index: Number(rest.slice(0, slash)) });
        }
      }
      opt.sort((a, b) => a.index - b.index);
      if (opt.length > 0)
        await this.optimizer.setWeights(
          opt.map(({ name, tensor }) => ({ name, tensor: tensor.clone() })),
        );
      this.stepCount = meta.stepCount ?? this.stepCount;
      this.epochCount = meta.epochCount ?? this.epochCount;
      this.resumeEpoch = this.epochCount;
    } finally {
      for (const t of Object.values(map)) t.dispose();
    }
  }

  /**
   * Disposes the modules and, when the distiller created it (no `optimizer` in the config), the
   * optimizer and its slot variables. Not the student, the teacher or a caller's optimizer.
   */
  dispose(): void {
    for (const m of this.modules) m.dispose();
    if (this.ownsOptimizer) this.optimizer.dispose();
  }
}

/**
 * The handler for a tfjs URL other than `file://` (`indexeddb://`, `localstorage://`, `http(s)://`
 * through `tf.io`'s routers); `undefined` for a path or a `file://` URL (relkd's own file I/O).
 */
function stringHandler(url: string, kind: 'save' | 'load'): tf.io.IOHandler | undefined {
  if (typeof url !== 'string' || url === '') {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.${kind}: expected a directory, a URL or a tf.io.IOHandler, got ${JSON.stringify(url)}.`,
    );
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('file://')) return undefined;
  const handlers = kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
  if (handlers.length !== 1) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.${kind}: ${handlers.length === 0 ? 'no' : 'more than one'} tf.io handler for '${url}'.`,
    );
  }
  return handlers[0];
}

/** Accuracy and mean CE of a tapped (or plain) model on `(x, y)` in inference mode. */
export async function evaluateModel(
  model: Tap | tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  batchSize = 256,
): Promise<{ accuracy: number; loss: number }> {
  const run = model instanceof tfl.LayersModel ? tap(model) : model;
  const n = x.shape[0];
  if (n === 0) throw new RelkdError('EMPTY_BATCH', 'evaluate: no examples.');
  let acc = tf.scalar(0);
  let loss = tf.scalar(0);
  for (let i = 0; i < n; i += batchSize) {
    const size = Math.min(batchSize, n - i);
    const [a, l] = tf.tidy(() => {
      const xb = tf.slice(x, i, size);
      const yb = toLabelTensor(tf.slice(y, i, size));
      const logits = run(xb).logits as tf.Tensor2D;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yb), 'float32'));
      const ce = tf.mul(crossEntropy(logits, yb), size);
      return [tf.add(acc, correct), tf.add(loss, ce)];
    });
    acc.dispose();
    loss.dispose();
    acc = a as tf.Scalar;
    loss = l as tf.Scalar;
  }
  const both = tf.stack([acc, loss]);
  const [correct, total] = await both.data();
  both.dispose();
  acc.dispose();
  loss.dispose();
  return { accuracy: correct! / n, loss: total! / n };
}

function isObjectLike(x: unknown): x is Record<string, unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null;
}

function describeValue(x: unknown): string {
  if (isTensor(x)) return `a ${x.dtype} tensor of shape ${formatShape(x.shape)}`;
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x === null) return 'null';
  return typeof x === 'object' ? `an object with keys {${Object.keys(x).join(', ')}}` : typeof x;
}

/**
 * What kind of data {@link Distiller.fit} got; `INVALID_OPTION` for anything else, with a hint
 * for the usual mistakes (`fit([x, y])`, `fit({ xs, ys })`, arrays instead of tensors).
 */
function dataForm(data: unknown): 'tensors' | 'batches' {
  const expected =
    'data must be { x, y } tensors, an (async) iterable of { xs, ys } (or { x, y }) batches, or a tf.data.Dataset';
  if (!isObjectLike(data)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: ${expected}; got ${describeValue(data)}.`,
    );
  }
  if (Array.isArray(data) && data.some(isTensor)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: ${expected}; got an array of tensors. For fit([x, y]) write fit({ x, y }).`,
    );
  }
  const iterable =
    Symbol.iterator in data ||
    Symbol.asyncIterator in data ||
    typeof (data as { iterator?: unknown }).iterator === 'function';
  if ('x' in data || 'y' in data) {
    if (isTensor(data.x) && isTensor(data.y)) return 'tensors';
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: data.x and data.y must be tf.Tensors, got x: ${describeValue(data.x)}, y: ${describeValue(data.y)}. Convert arrays with tf.tensor(...).`,
    );
  }
  if (iterable) return 'batches';
  if ('xs' in data || 'ys' in data) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: ${expected}; got one { xs, ys } batch. Pass { x: xs, y: ys }, or [batch] for a single batch.`,
    );
  }
  throw new RelkdError('INVALID_OPTION', `Distiller.fit: ${expected}; got ${describeValue(data)}.`);
}

/** `SHAPE_MISMATCH` unless `x` and `y` have the same number of rows. */
function checkRows(x: tf.Tensor, y: tf.Tensor, where: string): void {
  if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0]) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `Distiller.fit: ${where} has x of shape ${formatShape(x.shape)} and y of shape ${formatShape(y.shape)}; they must have the same number of rows.`,
    );
  }
}

/**
 * Checks labels once (one read): `[N]` integers (int32, or float32 holding integers) in
 * `[0, numClasses)`, or `[N, numClasses]` one-hot rows. Returns the class indices.
 */
async function checkLabels(y: tf.Tensor, numClasses: number, name: string): Promise<Int32Array> {
  if (y.dtype !== 'int32' && y.dtype !== 'float32') {
    throw new RelkdError(
      'DTYPE_MISMATCH',
      `Distiller.fit: ${name} must be int32 class indices or float32 one-hot rows, got ${y.dtype}.`,
      { name, dtype: y.dtype },
    );
  }
  if (y.rank !== 1 && y.rank !== 2) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `Distiller.fit: ${name} must be [N] class indices or [N, ${numClasses}] one-hot rows, got shape ${formatShape(y.shape)}.`,
      { name, shape: y.shape },
    );
  }
  if (y.rank === 2 && y.shape[1] !== numClasses) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `Distiller.fit: ${name} has one-hot rows of width ${y.shape[1]} but the student outputs ${numClasses} classes.`,
      { name, shape: y.shape, numClasses },
    );
  }
  const values = await y.data();
  const n = y.shape[0]!;
  const out = new Int32Array(n);
  const bad = (i: number, what: string): never => {
    throw new RelkdError(
      'LABEL_OUT_OF_RANGE',
      `Distiller.fit: ${name}[${i}] ${what} (the student outputs ${numClasses} classes). Fix the labels, or pass validate: 'none' to skip this check.`,
      { name, index: i, numClasses },
    );
  };
  if (y.rank === 1) {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= numClasses)
        bad(i, `= ${v} is not a class index in [0, ${numClasses})`);
      out[i] = v;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    let hot = -1;
    for (let c = 0; c < numClasses; c++) {
      const v = values[i * numClasses + c]!;
      if (v === 1 && hot === -1) hot = c;
      else if (v !== 0) {
        hot = -2;
        break;
      }
    }
    if (hot < 0) bad(i, 'is not a one-hot row (exactly one 1, the rest 0)');
    out[i] = hot;
  }
  return out;
}

/** `[N]` int labels of a whole tensor data set (`[N]` ints or `[N, C]` one-hot), one read. */
async function readAllLabels(y: tf.Tensor): Promise<Int32Array> {
  const t = toLabelTensor(y);
  try {
    return Int32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

/** Calls the sampler and checks its order (integers in `[0, N)`). */
function sampleOrder(
  sampler: BatchSampler,
  labels: Int32Array,
  batchSize: number,
  seed: number,
  epoch: number,
): number[] {
  const raw = sampler({ labels, batchSize, seed, epoch });
  const n = labels.length;
  const order = Array.from(raw ?? []);
  if (raw == null || order.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: the sampler must return integer sample indices in [0, ${n}).`,
    );
  }
  return order;
}

async function* iterateBatches(
  data: DistillData,
  batchSize: number,
  shuffle: boolean,
  seed: number,
  sampled?: readonly number[],
): AsyncGenerator<[tf.Tensor, tf.Tensor, boolean, ArrayLike<number> | undefined]> {
  if ('x' in data && isTensor(data.x) && 'y' in data && isTensor(data.y)) {
    const { x, y } = data;
    const n = x.shape[0];
    if (y.shape[0] !== n) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `Distiller.fit: x has ${n} rows but y has ${y.shape[0]}.`,
      );
    }
    const order =
      sampled ?? (shuffle ? new Rng(seed).permutation(n) : Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < order.length; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      const [bx, by] = tf.tidy(() => {
        const it = tf.tensor1d(idx, 'int32');
        return [tf.gather(x, it), tf.gather(y, it)];
      });
      yield [bx!, by!, true, idx];
    }
    return;
  }
  let index = 0;
  const pick = (b: unknown): [tf.Tensor, tf.Tensor, boolean, ArrayLike<number> | undefined] => {
    const i = index++;
    if (isObjectLike(b)) {
      const pair = 'xs' in b || 'ys' in b ? [b.xs, b.ys] : [b.x, b.y];
      // Optional data set rows of the batch (an offline teacher needs them).
      const rows =
        isObjectLike(b.index) && 'length' in b.index
          ? (b.index as unknown as ArrayLike<number>)
          : undefined;
      if (isTensor(pair[0]) && isTensor(pair[1])) return [pair[0], pair[1], true, rows];
    }
    throw new RelkdError(
      'INVALID_OPTION',
      `Distiller.fit: batch ${i} of the data must be { xs, ys } or { x, y } tensors, got ${describeValue(b)}.`,
    );
  };
  if (Symbol.asyncIterator in data || Symbol.iterator in data) {
    for await (const b of data as AsyncIterable<unknown>) yield pick(b);
    return;
  }
  if ('iterator' in data && typeof data.iterator === 'function') {
    const it = await data.iterator();
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      yield pick(r.value);
    }
    return;
  }
  throw new RelkdError(
    'INVALID_OPTION',
    'Distiller.fit: data must be { x, y } tensors, an iterable of batches or a tf.data.Dataset.',
  );
}
