import { RelkdError, Rng } from '@relkd/core';
import { formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { OfflineTeacherSource } from '../offlineTeacher';
import { ProgressBar } from '../progress';
import { checkLabels, readAllLabels } from './labels';
import { checkInputShape, checkRows, type SetupChecks } from './SetupChecks';
import { isTensor } from './StepEngine';
import type {
  BatchSampler,
  DistillData,
  DistillerHooks,
  EpochLog,
  FitOptions,
  History,
  StepResult,
} from './types';

/** What {@link fitLoop} drives: the Distiller's steps, checks, hooks and counters. */
export interface FitHost {
  readonly models: readonly [tfl.LayersModel, tfl.LayersModel | undefined];
  /** The offline teacher, if any: prepared (checked against the data) before the first step. */
  readonly offlineTeacher: OfflineTeacherSource | undefined;
  readonly checks: SetupChecks;
  readonly hooks: DistillerHooks;
  readonly sampler: BatchSampler | undefined;
  readonly seed: number;
  /** Read before each batch: `true` stops the loop after the current batch. */
  stopTraining: boolean;
  /** The Distiller's epoch counter (the default start; set after each epoch). */
  epochCount: number;
  /** The epoch restored by `Distiller.load`, once (then `undefined`). */
  takeResumeEpoch(): number | undefined;
  /** Tells the Distiller which epoch its steps are in. */
  setEpoch(epoch: number): void;
  /** One step; `rows`: the data set row of each image of the batch, when known. */
  stepAsync(x: tf.Tensor, y: tf.Tensor, rows: ArrayLike<number> | undefined): Promise<StepResult>;
  evaluate(x: tf.Tensor, y: tf.Tensor): Promise<{ accuracy: number; loss: number }>;
}

/**
 * The fit loop of `Distiller.fit` (internal; documented there): checks the options and the data,
 * runs the set-up checks, then epochs of batches (seeded shuffle, a sampler's order, or the
 * caller's batches), with progress, callbacks, validation and `model.fit`-style resumption.
 */
export async function fitLoop(
  host: FitHost,
  data: DistillData,
  options: FitOptions = {},
): Promise<History> {
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
    if (validate === 'once') labelIndices = await host.checks.checkSetup(x, y, 'data');
  }
  if (validationData !== undefined) {
    checkRows(validationData.x, validationData.y, 'validationData');
    if (validate === 'once') {
      checkInputShape(host.models, validationData.x, 'validationData.x');
      await checkLabels(validationData.y, host.checks.numClasses(), 'validationData.y');
    }
  }
  if (host.offlineTeacher !== undefined && validate === 'once') {
    const x = form === 'tensors' ? (data as { x: tf.Tensor }).x : undefined;
    await host.offlineTeacher.prepare({
      ...(x === undefined ? {} : { rows: x.shape[0] }),
      ...(labelIndices === undefined ? {} : { labels: labelIndices }),
      numClasses: host.checks.numClasses(),
    });
  }
  // model.fit semantics when starting from an initial epoch (explicit, or restored by load).
  const restored = host.takeResumeEpoch();
  const resumeFrom = initialEpoch ?? restored;
  const start = resumeFrom ?? host.epochCount;
  const end = resumeFrom === undefined ? start + epochs : epochs;
  await host.hooks.beforeFit?.(data, options);
  const bar =
    options.progress === undefined || options.progress === false
      ? undefined
      : new ProgressBar(options.progress === true ? {} : options.progress);
  const history: History = { epochs: [] };
  host.stopTraining = false;
  // A sampler sees the labels of tensor data, read once per fit.
  const sampledLabels =
    host.sampler !== undefined && form === 'tensors'
      ? (labelIndices ?? (await readAllLabels((data as { y: tf.Tensor }).y)))
      : undefined;
  let firstBatch = form !== 'tensors' && validate === 'once';
  for (let epoch = start; epoch < end && !host.stopTraining; epoch++) {
    host.setEpoch(epoch);
    const t0 = Date.now();
    const sums: Record<string, number> = {};
    let count = 0;
    let batches = 0;
    const order =
      sampledLabels === undefined
        ? undefined
        : sampleOrder(host.sampler!, sampledLabels, batchSize, host.seed, epoch);
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
      host.seed + epoch,
      order,
    )) {
      let result: StepResult;
      try {
        if (firstBatch) {
          // Iterables: the set-up is checked on the fit's first batch, before its step.
          checkRows(bx, by, 'the first batch');
          await host.checks.checkSetup(bx, by, 'the first batch');
          firstBatch = false;
        }
        result = await host.stepAsync(bx, by, rows);
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
      if (host.stopTraining) break;
    }
    const seconds = (Date.now() - t0) / 1000;
    const loss = Object.fromEntries(
      Object.entries(sums).map(([k, v]) => [k, v / Math.max(count, 1)]),
    );
    const log: EpochLog = { epoch, loss, seconds };
    host.hooks.onEpochEnd?.(epoch);
    if (validationData !== undefined) {
      log.val = await host.evaluate(validationData.x, validationData.y);
    }
    host.epochCount = epoch + 1;
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
