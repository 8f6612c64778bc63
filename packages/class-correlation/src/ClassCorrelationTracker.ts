import {
  Module,
  oneHotFloat,
  RelkdError,
  stopGradient,
  type TensorInput,
  type ValidateMode,
} from '@relkd/core';
import {
  assertNumber,
  formatShape,
  resolveValidate,
  toLabels,
  toLogits,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { assertOptionsObject, assertTemperature } from './internal/options';

/** Options of {@link ClassCorrelationTracker}. */
export interface ClassCorrelationTrackerOptions {
  /** Number of classes `C` (integer >= 1). */
  numClasses: number;
  /** Softmax temperature `τ_A > 0` of the accumulated teacher probabilities. Default `1`. */
  temperature?: number;
}

/** Options of {@link ClassCorrelationTracker.accumulate} and {@link ClassCorrelationTracker.targets}. */
export interface TrackerCallOptions {
  /** Input checking; `'full'` also checks label ranges of label tensors. Default `'shapes'`. */
  validate?: ValidateMode;
}

/**
 * The teacher-side class-correlation targets of ICC's "expressive teacher" (relkd's
 * reconstruction, in the style of online label smoothing): a row-stochastic matrix `A [C, C]`
 * whose row `c` is the mean tempered softmax `softmax(z/τ_A)` of the training samples of class
 * `c` that the teacher classified correctly in the previous epoch. `A` starts at the identity
 * (so the first epoch's regulariser is plain cross-entropy).
 *
 * - {@link accumulate} adds a batch to on-device running sums: `rowSums += Mᵀ softmax(Z/τ_A)`,
 *   `counts += Σ_b M_b` with `M = oneHot(y) ⊙ [argmax z_b = y_b]`. No CPU sync, a fixed number of
 *   kernels whatever `B` and `C`.
 * - {@link endEpoch} sets `A[c] = rowSums[c] / counts[c]` for every class with at least one
 *   correct sample (the others keep their previous row) and zeroes the sums.
 * - {@link targets} returns `A[y]` `[B, C]` (a one-hot matMul, so it works on every backend).
 *
 * State (`matrix`, `rowSums`, `counts`) is held in non-trainable variables; it is saved and
 * restored with the inherited `Module` API: `getWeights()/setWeights()` (tensors, in that order)
 * or `saveWeights()/loadWeights()` (`tf.io` weight encoding, by path). `trainableVariables` is
 * empty. Call `dispose()` when done.
 *
 * @example
 * ```ts
 * const tracker = new ClassCorrelationTracker({ numClasses: 10 });
 * for (const epoch of epochs) {
 *   for (const { x, y } of batches) {
 *     optimizer.minimize(() => {
 *       const logits = teacher.apply(x, { training: true });
 *       tracker.accumulate(logits, y);
 *       const { total } = teacherRegularizer({ logits, labels: y, tracker });
 *       return total;
 *     });
 *   }
 *   tracker.endEpoch();
 * }
 * ```
 */
export class ClassCorrelationTracker extends Module<TensorInput, tf.Tensor2D> {
  /** Number of classes `C`. */
  readonly numClasses: number;
  /** Temperature `τ_A` of the accumulated probabilities. */
  readonly temperature: number;
  private readonly matrixVar: tf.Variable;
  private readonly sumsVar: tf.Variable;
  private readonly countsVar: tf.Variable;
  private alive = true;

  constructor(options: ClassCorrelationTrackerOptions) {
    assertOptionsObject(options);
    if (options === undefined) {
      throw new RelkdError('INVALID_OPTION', '`options.numClasses` is required.');
    }
    const { numClasses, temperature = 1 } = options;
    assertNumber(numClasses, 'options.numClasses', { min: 1, integer: true });
    assertTemperature(temperature, 'options.temperature');
    super('ClassCorrelationTracker');
    this.numClasses = numClasses;
    this.temperature = temperature;
    this.matrixVar = this.addWeight('matrix', tf.eye(numClasses), false);
    this.sumsVar = this.addWeight('rowSums', tf.zeros([numClasses, numClasses]), false);
    this.countsVar = this.addWeight('counts', tf.zeros([numClasses]), false);
  }

  /**
   * Adds the correctly classified samples of a batch to the running class sums (no CPU sync).
   * Nothing here is differentiated; it is safe to call inside an `optimizer.minimize` closure.
   *
   * @param teacherLogits `[B, C]` float32 logits of the teacher being trained.
   * @param labels `[B]` int32 class indices.
   * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION` (disposed)
   */
  accumulate(
    teacherLogits: tf.Tensor2D | TensorInput,
    labels: tf.Tensor1D | TensorInput,
    options: TrackerCallOptions = {},
  ): void {
    this.assertUsable();
    const validate = resolveValidate(options.validate);
    tf.tidy(() => {
      const z = toLogits(teacherLogits, 'teacherLogits');
      this.assertClasses(z, 'teacherLogits');
      const c = this.numClasses;
      const y = toLabels(labels, c, z.shape[0], 'labels', validate);
      const zs = stopGradient(z);
      const p = tf.softmax(this.temperature === 1 ? zs : tf.div(zs, this.temperature));
      const correct = tf.cast(tf.equal(tf.argMax(zs, 1), y), 'float32');
      const m = tf.mul(oneHotFloat(y, c), tf.expandDims(correct, 1));
      this.sumsVar.assign(tf.add(this.sumsVar, tf.matMul(m, p, true, false)));
      this.countsVar.assign(tf.add(this.countsVar, tf.sum(m, 0)));
    });
  }

  /**
   * Ends an epoch: every class with at least one correctly classified sample since the last
   * call gets `A[c] = rowSums[c] / counts[c]`; the other rows keep their previous value. The
   * sums and counts are reset. No CPU sync.
   */
  endEpoch(): void {
    this.assertUsable();
    tf.tidy(() => {
      const counts = tf.expandDims(this.countsVar, 1);
      const has = tf.cast(tf.greater(counts, 0), 'float32');
      const mean = tf.div(this.sumsVar, tf.maximum(counts, 1));
      this.matrixVar.assign(tf.add(tf.mul(has, mean), tf.mul(tf.sub(1, has), this.matrixVar)));
      this.sumsVar.assign(tf.zerosLike(this.sumsVar));
      this.countsVar.assign(tf.zerosLike(this.countsVar));
    });
  }

  /**
   * The soft targets of a batch: `A[y]` `[B, C]` (row `b` is row `y_b` of the matrix), computed
   * as `oneHot(y) · A`. The caller disposes the result.
   *
   * @throws RelkdError `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`, `INVALID_OPTION` (disposed)
   */
  targets(labels: tf.Tensor1D | TensorInput, options: TrackerCallOptions = {}): tf.Tensor2D {
    this.assertUsable();
    const validate = resolveValidate(options.validate);
    return tf.tidy(() => {
      const y = toLabels(labels, this.numClasses, labelCount(labels), 'labels', validate);
      if (y.shape[0] === 0) {
        throw new RelkdError('EMPTY_BATCH', '`labels` is empty.', { name: 'labels' });
      }
      return tf.matMul(oneHotFloat(y, this.numClasses), this.matrixVar as tf.Tensor2D);
    });
  }

  /** A copy of the current matrix `A [C, C]` (rows are distributions). The caller disposes it. */
  matrix(): tf.Tensor2D {
    this.assertUsable();
    return this.matrixVar.clone() as tf.Tensor2D;
  }

  /** A copy of the number of correctly classified samples per class accumulated since the last `endEpoch` `[C]`. */
  pendingCounts(): tf.Tensor1D {
    this.assertUsable();
    return this.countsVar.clone() as tf.Tensor1D;
  }

  /** `true` once {@link dispose} has been called. */
  get isDisposed(): boolean {
    return !this.alive;
  }

  /** `apply(labels)` is {@link targets}. */
  protected forward(labels: TensorInput): tf.Tensor2D {
    return this.targets(labels as tf.Tensor1D);
  }

  override dispose(): void {
    this.alive = false;
    super.dispose();
  }

  /** @internal Throws `SHAPE_MISMATCH` when `z` does not have `numClasses` columns. */
  assertClasses(z: tf.Tensor2D, name: string): void {
    if (z.shape[1] !== this.numClasses) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` has ${z.shape[1]} classes (shape ${formatShape(z.shape)}) but the tracker was built with numClasses = ${this.numClasses}.`,
        { name, expected: this.numClasses, actual: z.shape[1] },
      );
    }
  }

  private assertUsable(): void {
    if (!this.alive)
      throw new RelkdError('INVALID_OPTION', 'The ClassCorrelationTracker has been disposed.');
  }
}

/** The batch size implied by a label input (for `toLabels`), without reading tensor data. */
function labelCount(labels: TensorInput): number {
  if (labels instanceof tf.Tensor) return labels.rank >= 1 ? (labels.shape[0] ?? 0) : 1;
  if (Array.isArray(labels)) return labels.length;
  if (labels != null && typeof labels === 'object' && 'length' in labels)
    return (labels as ArrayLike<unknown>).length;
  return 1;
}
