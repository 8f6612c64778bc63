import { FusedAdamOptimizer, type Module, RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadCheckpoint, saveCheckpoint } from './distiller/checkpoint';
import { evaluateModel } from './distiller/evaluateModel';
import { fitLoop } from './distiller/fitLoop';
import { SetupChecks } from './distiller/SetupChecks';
import { StepEngine } from './distiller/StepEngine';
import type {
  BatchSampler,
  DistillData,
  DistillerConfig,
  DistillerHooks,
  FitOptions,
  History,
  StepResult,
  Term,
} from './distiller/types';
import { disposeGathered, isOfflineTeacher, type OfflineTeacherSource } from './offlineTeacher';
import { type Tap, type TapOutput, tap } from './tap';

export { evaluateModel } from './distiller/evaluateModel';
export type {
  Batch,
  BatchContext,
  BatchLike,
  BatchSampler,
  BatchSamplerArgs,
  BatchTransform,
  DistillData,
  DistillerConfig,
  DistillerHooks,
  DistillerParts,
  EpochLog,
  FitOptions,
  FitValidate,
  History,
  NetworkOutputs,
  StepResult,
  Term,
  TermContext,
  TermResult,
  UpdateContext,
} from './distiller/types';

/**
 * Trains a student `tf.LayersModel` with relkd losses against a frozen teacher (or none, for
 * self-distillation), updating only the student's and the extra modules' variables.
 *
 * Each {@link Distiller.step}: batch transform -> teacher forward (inference mode, no tape) ->
 * `optimizer.minimize(closure, false, varList)` where the closure runs the student in training
 * mode and sums `ceWeight·CE + Σ weight·term`, with `varList` = student trainable weights +
 * modules' trainable variables (never the teacher's) -> `hooks.afterUpdate` -> all loss parts
 * read back with one `tf.stack` + one read. The teacher skips `x` when the batch says
 * `teacherOnX: false`. Without an `optimizer`, it uses `new FusedAdamOptimizer(1e-3)` from
 * @relkd/core (`tf.train.adam(1e-3)`'s updates, bit-identical, one kernel per variable on cpu and
 * wasm).
 *
 * @example
 * ```ts
 * const distiller = new Distiller({ teacher, student, optimizer: tf.train.adam(1e-3),
 *   ...kd({ temperature: 4, weight: 0.9 }) });
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
  private readonly engine: StepEngine;
  private readonly checks: SetupChecks;
  private readonly sampler: BatchSampler | undefined;
  private readonly hooks: DistillerHooks;
  private readonly seed: number;
  /** The optimizer was created here (no `optimizer` in the config): `dispose` releases it. */
  private readonly ownsOptimizer: boolean;
  private currentEpoch = 0;
  /** Set by {@link Distiller.load}: the next fit resumes `model.fit`-style from this epoch. */
  private resumeEpoch: number | undefined;

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
    this.optimizer = config.optimizer ?? new FusedAdamOptimizer(1e-3);
    if (config.sampler !== undefined && typeof config.sampler !== 'function') {
      throw new RelkdError('INVALID_OPTION', 'Distiller: `sampler` must be a function.');
    }
    this.sampler = config.sampler;
    this.hooks = config.hooks ?? {};
    this.seed = config.seed ?? 0;
    const studentTap = tap(student, config.taps?.student ?? {});
    let teacherTap: Tap | undefined;
    if (teacher !== undefined) {
      teacher.trainable = false;
      teacherTap = tap(teacher, config.taps?.teacher ?? {});
    } else if (config.taps?.teacher !== undefined) {
      throw new RelkdError('INVALID_OPTION', 'Distiller: taps.teacher given without a teacher.');
    }
    this.engine = new StepEngine({
      student,
      teacher,
      studentTap,
      teacherTap,
      terms: this.terms,
      modules: this.modules,
      ceWeight,
      optimizer: this.optimizer,
      batchTransform: config.batchTransform,
      hooks: this.hooks,
      seed: this.seed,
    });
    this.checks = new SetupChecks({ student, teacher, studentTap, teacherTap });
    if (teacher !== undefined) {
      const teacherIds = new Set(teacher.weights.map((w) => w.read().id));
      if (this.varList().some((v) => teacherIds.has(v.id))) {
        throw new RelkdError(
          'INVALID_OPTION',
          'Distiller: the student shares variables with the teacher; the teacher must stay frozen.',
        );
      }
    }
  }

  /** The variables the optimizer updates: the student's trainable weights and the modules' trainable variables. */
  varList(): tf.Variable[] {
    return this.engine.varList();
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
    const { values, names } = this.engine.run(x, y, this.stepCount, this.currentEpoch);
    this.stepCount++;
    try {
      return StepEngine.unpack(values.dataSync(), names);
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
      const { values, names } = this.engine.run(x, y, this.stepCount, this.currentEpoch, gathered);
      this.stepCount++;
      try {
        return StepEngine.unpack(await values.data(), names);
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
    return evaluateModel(this.engine.config.studentTap, x, y, batchSize);
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
    const self = this;
    return fitLoop(
      {
        models: [this.student, this.teacher],
        offlineTeacher: this.offlineTeacher,
        checks: this.checks,
        hooks: this.hooks,
        sampler: this.sampler,
        seed: this.seed,
        get stopTraining() {
          return self.stopTraining;
        },
        set stopTraining(value: boolean) {
          self.stopTraining = value;
        },
        get epochCount() {
          return self.epochCount;
        },
        set epochCount(value: number) {
          self.epochCount = value;
        },
        takeResumeEpoch: () => {
          const epoch = this.resumeEpoch;
          this.resumeEpoch = undefined;
          return epoch;
        },
        setEpoch: (epoch) => {
          this.currentEpoch = epoch;
        },
        stepAsync: (x, y, rows) => this.stepAsync(x, y, rows),
        evaluate: (x, y) => this.evaluate(x, y),
      },
      data,
      options,
    );
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
    return saveCheckpoint(this, target);
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
    const { stepCount, epochCount } = await loadCheckpoint(this, source);
    this.stepCount = stepCount;
    this.epochCount = epochCount;
    this.resumeEpoch = epochCount;
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
