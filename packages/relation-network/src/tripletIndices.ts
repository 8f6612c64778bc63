import { RelkdError, Rng } from '@relkd/core';
import { assertNumber, formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link tripletIndices}. */
export interface TripletIndicesOptions {
  /** Seed of the arrangement (core's `Rng`). Ignored when `rng` is given. Default `0`. */
  seed?: number;
  /**
   * A generator to draw from instead of a fresh `new Rng(seed)`: pass one `Rng` for a whole
   * training run so every step gets a new arrangement from one seeded stream.
   */
  rng?: Rng;
  /** When given, every label must be an integer in `[0, numClasses)` (`LABEL_OUT_OF_RANGE`). */
  numClasses?: number;
}

/** The triplet arrangement of a batch: int32 `[B]` index tensors and the negatives' labels. */
export type TripletIndices = {
  /** `[0, 1, …, B − 1]`: every sample is an anchor once. */
  anchor: tf.Tensor1D;
  /** A sample of the anchor's class (another one when the class has two or more samples). */
  positive: tf.Tensor1D;
  /** A sample of a uniformly chosen other class present in the batch. */
  negative: tf.Tensor1D;
  /** `labels[negative]`: the class of each negative (the second half of CORSD's soft target). */
  negativeLabels: tf.Tensor1D;
};

/**
 * Arranges a labelled batch into CORSD triplets (anchor, positive, negative).
 *
 * For each anchor `i`: the positive is drawn uniformly from the *other* samples of class
 * `labels[i]` (it is `i` itself only when `i` is the only sample of its class in the batch); the
 * negative class is drawn uniformly from the other classes present in the batch, then the
 * negative uniformly from that class's samples. Seeded through core's `Rng`, so the arrangement is
 * identical on every backend for a seed.
 *
 * This is batch arrangement, not a loss: it reads the labels once on the CPU (one
 * `dataSync()` when `labels` is a tensor; pass a JS array or `Int32Array` to avoid even that).
 * Features and logits are never read. Returns four new int32 `[B]` tensors the caller disposes.
 *
 * Differs from the released CORSD code, whose data loader draws the positive and the negative
 * from the whole dataset (three images per anchor); here they come from the batch itself, so no
 * extra images are loaded and every batch image is an anchor.
 *
 * @param labels int32 `[B]` class indices (tensor, `number[]` or `Int32Array`), B ≥ 2, at least
 *   two distinct classes.
 * @throws RelkdError `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `LABEL_OUT_OF_RANGE`
 *   (negative or non-integer label, or ≥ `numClasses`), `INVALID_OPTION` (fewer than two classes
 *   in the batch, bad seed)
 * @example
 * ```ts
 * const t = tripletIndices([0, 0, 1, 2, 1], { seed: 7 });
 * const pairs = gatherPairs(stageFeatures, t); // { positive, negative } pair inputs
 * ```
 */
export function tripletIndices(
  labels: tf.Tensor | readonly number[] | Int32Array,
  options: TripletIndicesOptions = {},
): TripletIndices {
  const values = readLabels(labels);
  const { numClasses } = options;
  if (numClasses !== undefined)
    assertNumber(numClasses, 'options.numClasses', { min: 2, integer: true });
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new RelkdError(
        'LABEL_OUT_OF_RANGE',
        `\`labels[${i}]\` = ${String(v)} is not a class index${numClasses === undefined ? ' (a non-negative integer)' : ` in [0, ${numClasses})`}.`,
        { name: 'labels', index: i, value: v },
      );
    }
  });
  const members = new Map<number, number[]>();
  values.forEach((v, i) => {
    const list = members.get(v);
    if (list) list.push(i);
    else members.set(v, [i]);
  });
  const classes = [...members.keys()].sort((a, b) => a - b);
  if (classes.length < 2) {
    throw new RelkdError(
      'INVALID_OPTION',
      `tripletIndices needs at least two classes in the batch (C >= 2) to draw negatives, got ${classes.length} (labels ${formatList(values)}). Sample batches with two or more classes.`,
      { name: 'labels', classes },
    );
  }
  let rng = options.rng;
  if (rng === undefined) {
    const seed = options.seed ?? 0;
    assertNumber(seed, 'options.seed');
    rng = new Rng(seed);
  }
  const b = values.length;
  const anchor = new Int32Array(b);
  const positive = new Int32Array(b);
  const negative = new Int32Array(b);
  const negativeLabels = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const y = values[i]!;
    const same = members.get(y)!;
    anchor[i] = i;
    if (same.length === 1) {
      positive[i] = i;
    } else {
      // uniform over the class members other than i
      const k = rng.int(same.length - 1);
      const j = same[k]!;
      positive[i] = j === i ? same[same.length - 1]! : j;
    }
    const others = classes.filter((c) => c !== y);
    const negClass = others[rng.int(others.length)]!;
    const pool = members.get(negClass)!;
    negative[i] = pool[rng.int(pool.length)]!;
    negativeLabels[i] = negClass;
  }
  return {
    anchor: tf.tensor1d(anchor, 'int32'),
    positive: tf.tensor1d(positive, 'int32'),
    negative: tf.tensor1d(negative, 'int32'),
    negativeLabels: tf.tensor1d(negativeLabels, 'int32'),
  };
}

function readLabels(labels: tf.Tensor | readonly number[] | Int32Array): number[] {
  if (labels instanceof tf.Tensor) {
    if (labels.isDisposed) {
      throw new RelkdError('INVALID_OPTION', '`labels` is a disposed tensor.', { name: 'labels' });
    }
    if (labels.dtype !== 'int32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`labels\` must be int32 class indices, got ${labels.dtype}. Use \`tf.tensor1d(labels, 'int32')\`.`,
        { name: 'labels', expected: 'int32', actual: labels.dtype },
      );
    }
    if (labels.rank !== 1) {
      throw new RelkdError(
        'RANK_MISMATCH',
        `\`labels\` must have rank 1 ([B] int32 class indices), got shape ${formatShape(labels.shape)}.`,
        { name: 'labels', expected: 1, actual: labels.rank },
      );
    }
    if (labels.shape[0] === 0) {
      throw new RelkdError('EMPTY_BATCH', '`labels` has an empty batch (shape [0]).', {
        name: 'labels',
      });
    }
    return Array.from(labels.dataSync());
  }
  if (!(Array.isArray(labels) || labels instanceof Int32Array)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`labels\` must be an int32 tensor, a number[] or an Int32Array, got ${labels === null ? 'null' : typeof labels}.`,
      { name: 'labels' },
    );
  }
  const values = Array.from(labels as ArrayLike<unknown>);
  if (values.some((v) => Array.isArray(v))) {
    throw new RelkdError('RANK_MISMATCH', '`labels` must be a flat [B] array of class indices.', {
      name: 'labels',
    });
  }
  if (values.length === 0) {
    throw new RelkdError('EMPTY_BATCH', '`labels` has an empty batch (length 0).', {
      name: 'labels',
    });
  }
  return values as number[];
}

function formatList(values: readonly number[]): string {
  return values.length <= 8 ? `[${values.join(', ')}]` : `[${values.slice(0, 8).join(', ')}, …]`;
}
