import { RelkdError, Rng } from '@relkd/core';
import { assertNumber, childSeed } from '@relkd/core/internal';

/** Options of {@link classBalancedOrder}. */
export interface ClassBalancedOrderOptions {
  /** Images per batch; every consecutive `batchSize` entries of the order are one batch. */
  batchSize: number;
  /**
   * P, the classes of each batch (>= 2, at most the classes present). Default: `batchSize / K`
   * rounded down (K = `samplesPerClass`, default 4; at least 2 when K is not given), capped at
   * the classes present.
   */
  classesPerBatch?: number;
  /**
   * K, the images per class of each batch (>= 2). Only used to derive P when `classesPerBatch` is
   * absent; when both are given, `classesPerBatch · samplesPerClass` must equal `batchSize`.
   * When `batchSize` is not a multiple of P, `batchSize mod P` of the batch's classes get one
   * image more. Default 4.
   */
  samplesPerClass?: number;
  /** Seed (mixed with `epoch` by core's `childSeed`). Default `0`. */
  seed?: number;
  /** 0-based epoch: each epoch gets a fresh arrangement. Default `0`. */
  epoch?: number;
  /** Batches of the epoch. Default `ceil(N / batchSize)` (as many steps as a plain shuffle). */
  numBatches?: number;
}

/**
 * The sample order of one epoch of class-balanced P × K batches (the batches CORSD's triplet
 * sampling needs: every anchor has an in-batch positive of its class and in-batch negatives).
 *
 * Batch `i` is `order[i·batchSize … (i+1)·batchSize)`: P distinct classes with
 * `⌊batchSize / P⌋` or `⌈batchSize / P⌉` images each (so K ≥ 2 images of every class in the
 * batch). Classes are taken from a seeded shuffled queue (refilled when empty, no class twice in
 * one batch), so over an epoch every class is picked about equally often. The images of a class
 * come from its own shuffled pool, refilled with a fresh shuffle when exhausted: a class is
 * seen without repetition until all its images were used, and a class with fewer images than
 * its share of a batch repeats images (sampling with replacement).
 *
 * **Epoch:** `numBatches` batches, default `ceil(N / batchSize)`, i.e. as many steps and about as
 * many images as one pass of a plain shuffle; with balanced classes every image is seen about
 * once per epoch, with unbalanced ones rare classes are oversampled and frequent ones
 * undersampled. Labels are plain numbers (read once, by the caller); no tensor is created.
 *
 * @param labels `[N]` integer class labels (>= 0), at least two classes.
 * @returns `numBatches · batchSize` indices into `[0, N)` (Int32Array).
 * @throws RelkdError `INVALID_OPTION` (fewer than two classes, P < 2 or above the classes present,
 *   batchSize < 2P, P·K ≠ batchSize when both are given), `LABEL_OUT_OF_RANGE`, `EMPTY_BATCH`
 * @example
 * ```ts
 * const order = classBalancedOrder(trainLabels, { batchSize: 32, samplesPerClass: 4, seed: 1, epoch });
 * // order.subarray(0, 32): 8 classes × 4 images
 * ```
 */
export function classBalancedOrder(
  labels: ArrayLike<number>,
  options: ClassBalancedOrderOptions,
): Int32Array {
  if (options == null || typeof options !== 'object') {
    throw new RelkdError('INVALID_OPTION', '`options` must be `{ batchSize, … }`.');
  }
  const { batchSize, seed = 0, epoch = 0 } = options;
  assertNumber(batchSize, 'batchSize', { min: 2, integer: true });
  assertNumber(seed, 'seed');
  assertNumber(epoch, 'epoch', { min: 0, integer: true });
  const n = labels?.length ?? 0;
  if (n === 0) throw new RelkdError('EMPTY_BATCH', '`labels` is empty.', { name: 'labels' });
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0) {
      throw new RelkdError(
        'LABEL_OUT_OF_RANGE',
        `\`labels[${i}]\` = ${String(y)} is not a class index (a non-negative integer).`,
        { name: 'labels', index: i, value: y },
      );
    }
    const list = members.get(y);
    if (list) list.push(i);
    else members.set(y, [i]);
  }
  const classes = [...members.keys()].sort((a, b) => a - b);
  const P = resolveClassesPerBatch(options, classes.length);
  const numBatches = options.numBatches ?? Math.ceil(n / batchSize);
  assertNumber(numBatches, 'numBatches', { min: 0, integer: true });

  const rng = new Rng(childSeed(seed, epoch));
  const pools = new Map<number, { order: number[]; next: number }>();
  const take = (y: number): number => {
    let pool = pools.get(y);
    const list = members.get(y)!;
    if (pool === undefined || pool.next >= pool.order.length) {
      pool = { order: rng.permutation(list.length).map((j) => list[j]!), next: 0 };
      pools.set(y, pool);
    }
    return pool.order[pool.next++]!;
  };
  let queue: number[] = [];
  const out = new Int32Array(numBatches * batchSize);
  const base = Math.floor(batchSize / P);
  const extra = batchSize % P;
  let at = 0;
  for (let b = 0; b < numBatches; b++) {
    const chosen: number[] = [];
    while (chosen.length < P) {
      if (queue.length === 0) queue = rng.permutation(classes.length).map((j) => classes[j]!);
      const i = queue.findIndex((c) => !chosen.includes(c));
      if (i < 0) {
        queue = [];
        continue;
      }
      chosen.push(queue.splice(i, 1)[0]!);
    }
    chosen.forEach((y, j) => {
      const count = base + (j < extra ? 1 : 0);
      for (let r = 0; r < count; r++) out[at++] = take(y);
    });
  }
  return out;
}

/** P from the options and the number of classes present (see {@link ClassBalancedOrderOptions}). */
function resolveClassesPerBatch(options: ClassBalancedOrderOptions, present: number): number {
  const { batchSize, classesPerBatch, samplesPerClass } = options;
  if (present < 2) {
    throw new RelkdError(
      'INVALID_OPTION',
      `Class-balanced batches need at least two classes in the labels, got ${present}.`,
      { name: 'labels' },
    );
  }
  if (samplesPerClass !== undefined)
    assertNumber(samplesPerClass, 'samplesPerClass', { min: 2, integer: true });
  let P: number;
  if (classesPerBatch !== undefined) {
    assertNumber(classesPerBatch, 'classesPerBatch', { min: 2, integer: true });
    if (classesPerBatch > present) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`classesPerBatch\` (${classesPerBatch}) exceeds the ${present} classes present in the labels.`,
        { name: 'classesPerBatch' },
      );
    }
    if (samplesPerClass !== undefined && classesPerBatch * samplesPerClass !== batchSize) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`classesPerBatch · samplesPerClass\` = ${classesPerBatch}·${samplesPerClass} must equal the batch size ${batchSize} (or give only one of them).`,
        { name: 'classesPerBatch' },
      );
    }
    P = classesPerBatch;
  } else {
    const derived = Math.floor(batchSize / (samplesPerClass ?? 4));
    // without an explicit K, small batches still get two classes (fewer than 4 images each)
    P = Math.min(present, samplesPerClass === undefined ? Math.max(2, derived) : derived);
  }
  if (P < 2 || batchSize < 2 * P) {
    throw new RelkdError(
      'INVALID_OPTION',
      `A batch of ${batchSize} cannot hold ${Math.max(P, 2)} classes with at least 2 images each; raise the batch size or lower \`samplesPerClass\`.`,
      { name: 'batchSize', batchSize, classesPerBatch: P },
    );
  }
  return P;
}
