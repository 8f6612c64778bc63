import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { emitWarning } from '../errors/warnings';

/**
 * How much input checking a public function does.
 * - `'shapes'` (default): ranks, shapes, dtypes and options only. Never reads tensor data, so it
 *   costs no GPU -> CPU sync.
 * - `'full'`: also reads the data to check label ranges and finiteness (`LABEL_OUT_OF_RANGE`,
 *   `NON_FINITE`). Use it while debugging, not in a training loop.
 */
export type ValidateMode = 'shapes' | 'full';

/** Anything tfjs can turn into a tensor, or a tensor. */
export type TensorInput = tf.Tensor | tf.TensorLike;

/** Formats a shape the way the error messages show it: `[8, 10]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Converts `x` to a tensor (no copy for tensors) and checks its dtype family.
 * `kind: 'float'` accepts float32 only; `'int'` accepts int32 (JS arrays are converted to int32).
 * Call it inside `tf.tidy` so a later validation failure releases the converted tensor.
 *
 * @throws RelkdError `DTYPE_MISMATCH`, `INVALID_OPTION` (not tensor-like)
 */
export function toTensor(x: TensorInput, name: string, kind: 'float' | 'int' = 'float'): tf.Tensor {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) {
      throw new RelkdError('INVALID_OPTION', `\`${name}\` is a disposed tensor.`, { name });
    }
    if (kind === 'float' && x.dtype !== 'float32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`${name}\` must be float32, got ${x.dtype}. Cast it with \`tf.cast(x, 'float32')\`.`,
        { name, expected: 'float32', actual: x.dtype },
      );
    }
    if (kind === 'int' && x.dtype !== 'int32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`${name}\` must be int32 class indices, got ${x.dtype}. Use \`tf.tensor1d(labels, 'int32')\`.`,
        { name, expected: 'int32', actual: x.dtype },
      );
    }
    return x;
  }
  if (x == null || (typeof x !== 'object' && typeof x !== 'number')) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be a tf.Tensor or an array, got ${x === null ? 'null' : typeof x}.`,
      {
        name,
      },
    );
  }
  if (typeof x === 'object') checkRectangular(x, name);
  try {
    return tf.tensor(x as tf.TensorLike, undefined, kind === 'int' ? 'int32' : 'float32');
  } catch (e) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` is not a valid tensor-like value: ${(e as Error).message}`,
      {
        name,
      },
    );
  }
}

/**
 * Walks a nested JS array and checks it is rectangular with numeric leaves. tfjs only checks this
 * in debug mode and otherwise builds a tensor with missing (garbage) entries from a ragged array.
 */
function checkRectangular(x: object, name: string): void {
  const shapeOf = (v: unknown, path: string): number[] => {
    if (typeof v === 'number' || typeof v === 'boolean') return [];
    if (ArrayBuffer.isView(v) && !(v instanceof DataView))
      return [(v as unknown as ArrayLike<number>).length];
    if (!Array.isArray(v)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}${path}\` must be a number or an array, got ${v === null ? 'null' : typeof v}.`,
        {
          name,
          path,
        },
      );
    }
    if (v.length === 0) return [0];
    const first = shapeOf(v[0], `${path}[0]`);
    for (let i = 1; i < v.length; i++) {
      const other = shapeOf(v[i], `${path}[${i}]`);
      if (!tf.util.arraysEqual(first, other)) {
        throw new RelkdError(
          'INVALID_OPTION',
          `\`${name}\` is a ragged array: \`${name}${path}[0]\` has shape ${formatShape(first)} but \`${name}${path}[${i}]\` has shape ${formatShape(other)}.`,
          { name, path: `${path}[${i}]` },
        );
      }
    }
    return [v.length, ...first];
  };
  shapeOf(x, '');
}

/**
 * Checks an axis option against a tensor rank (`-rank <= axis < rank`, integer).
 * @throws RelkdError `INVALID_OPTION`
 */
export function assertAxis(
  axis: unknown,
  rank: number,
  name = 'options.axis',
): asserts axis is number {
  assertNumber(axis, name, { integer: true, min: -rank, max: rank - 1 });
}

/** @throws RelkdError `RANK_MISMATCH` when `t.rank !== rank`; `INVALID_OPTION` when `t` is not a live tensor. */
export function assertRank(t: tf.Tensor, rank: number, name: string, layout?: string): void {
  if (!(t instanceof tf.Tensor)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be a tf.Tensor, got ${t === null ? 'null' : typeof t}.`,
      {
        name,
      },
    );
  }
  if (t.isDisposed) {
    throw new RelkdError('INVALID_OPTION', `\`${name}\` is a disposed tensor.`, { name });
  }
  if (t.rank !== rank) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `\`${name}\` must have rank ${rank}${layout ? ` (${layout})` : ''}, got rank ${t.rank} with shape ${formatShape(t.shape)}.`,
      { name, expected: rank, actual: t.rank, shape: t.shape },
    );
  }
}

/** @throws RelkdError `SHAPE_MISMATCH` when the shapes differ. */
export function assertSameShape(a: tf.Tensor, b: tf.Tensor, nameA: string, nameB: string): void {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `\`${nameA}\` and \`${nameB}\` must have the same shape, got ${formatShape(a.shape)} and ${formatShape(b.shape)}.`,
      { names: [nameA, nameB], shapes: [a.shape, b.shape] },
    );
  }
}

/**
 * Checks `t.shape` against a pattern where `null` matches any size.
 * @throws RelkdError `RANK_MISMATCH` or `SHAPE_MISMATCH`
 */
export function assertShape(
  t: tf.Tensor,
  expected: readonly (number | null)[],
  name: string,
): void {
  const pattern = `[${expected.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
  if (t.rank !== expected.length) {
    throw new RelkdError(
      'RANK_MISMATCH',
      `\`${name}\` must have shape ${pattern}, got ${formatShape(t.shape)}.`,
      { name, expected, actual: t.shape },
    );
  }
  expected.forEach((d, i) => {
    if (d !== null && t.shape[i] !== d) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must have shape ${pattern}, got ${formatShape(t.shape)}.`,
        {
          name,
          expected,
          actual: t.shape,
        },
      );
    }
  });
}

/** @throws RelkdError `EMPTY_BATCH` when the leading dimension is 0. */
export function assertNonEmpty(t: tf.Tensor, name: string): void {
  if (t.rank === 0 || t.shape[0] === 0) {
    throw new RelkdError(
      'EMPTY_BATCH',
      `\`${name}\` has an empty batch (shape ${formatShape(t.shape)}).`,
      {
        name,
        shape: t.shape,
      },
    );
  }
}

/**
 * Checks a numeric option: finite, and within `[min, max]` (bounds optional; `exclusiveMin`
 * makes the lower bound strict).
 * @throws RelkdError `INVALID_OPTION`
 */
export function assertNumber(
  value: unknown,
  name: string,
  range: { min?: number; max?: number; exclusiveMin?: boolean; integer?: boolean } = {},
): asserts value is number {
  const { min, max, exclusiveMin = false, integer = false } = range;
  const bad =
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (min !== undefined && (exclusiveMin ? value <= min : value < min)) ||
    (max !== undefined && value > max);
  if (bad) {
    const lo = min === undefined ? '' : exclusiveMin ? `> ${min}` : `>= ${min}`;
    const hi = max === undefined ? '' : `<= ${max}`;
    const want = [
      integer ? 'an integer' : 'a finite number',
      [lo, hi].filter(Boolean).join(' and '),
    ]
      .filter(Boolean)
      .join(' ');
    throw new RelkdError('INVALID_OPTION', `\`${name}\` must be ${want}, got ${String(value)}.`, {
      name,
      value,
    });
  }
}

/** @throws RelkdError `INVALID_OPTION` when `value` is not one of `allowed`. */
export function assertOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}.`,
      { name, value, allowed },
    );
  }
}

/**
 * Converts and checks logits: float32, rank 2 `[B, C]`, B >= 1, C >= 1.
 * @throws RelkdError `DTYPE_MISMATCH`, `RANK_MISMATCH`, `EMPTY_BATCH`
 */
export function toLogits(x: TensorInput, name: string): tf.Tensor2D {
  const t = toTensor(x, name, 'float');
  assertRank(t, 2, name, '[B, C] logits');
  assertNonEmpty(t, name);
  if (t.shape[1] === 0) {
    throw new RelkdError(
      'EMPTY_BATCH',
      `\`${name}\` has zero classes (shape ${formatShape(t.shape)}).`,
      { name },
    );
  }
  return t as tf.Tensor2D;
}

/**
 * Converts and checks class labels: int32 `[B]` with values in `[0, numClasses)`.
 * The range is checked when labels are a JS array (the data is on the CPU already) or when
 * `validate === 'full'` (reads the tensor back).
 *
 * @throws RelkdError `DTYPE_MISMATCH`, `RANK_MISMATCH`, `SHAPE_MISMATCH`, `LABEL_OUT_OF_RANGE`
 */
export function toLabels(
  labels: TensorInput,
  numClasses: number,
  batchSize: number,
  name = 'labels',
  validate: ValidateMode = 'shapes',
): tf.Tensor1D {
  const isArray = !(labels instanceof tf.Tensor);
  if (isArray) {
    const flat = Array.isArray(labels)
      ? (labels.flat(Number.POSITIVE_INFINITY) as unknown[])
      : Array.from(labels as ArrayLike<unknown>);
    checkLabelValues(flat as number[], numClasses, name);
  }
  const t = toTensor(labels, name, 'int');
  assertRank(t, 1, name, '[B] int32 class indices');
  if (t.shape[0] !== batchSize) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `\`${name}\` must have one label per row: expected [${batchSize}], got ${formatShape(t.shape)}.`,
      { name, expected: [batchSize], actual: t.shape },
    );
  }
  if (!isArray && validate === 'full') checkLabelValues(Array.from(t.dataSync()), numClasses, name);
  return t as tf.Tensor1D;
}

function checkLabelValues(values: readonly number[], numClasses: number, name: string): void {
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new RelkdError(
        'LABEL_OUT_OF_RANGE',
        `\`${name}[${i}]\` = ${String(v)} is not a class index in [0, ${numClasses}).`,
        { name, index: i, value: v, numClasses },
      );
    }
  });
}

/**
 * Checks a `validate` option (`undefined` means `'shapes'`) and returns the mode.
 * @throws RelkdError `INVALID_OPTION` for anything but `'shapes'` or `'full'`
 */
export function resolveValidate(value: unknown, name = 'options.validate'): ValidateMode {
  if (value === undefined) return 'shapes';
  assertOneOf(value, ['shapes', 'full'] as const, name);
  return value;
}

/**
 * In `validate: 'full'` mode, reads `t` back and throws `NON_FINITE` if it holds NaN or ±Infinity.
 * Does nothing in `'shapes'` mode.
 */
export function checkFinite(t: tf.Tensor, name: string, validate: ValidateMode | undefined): void {
  if (validate !== 'full') return;
  const data = t.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RelkdError(
        'NON_FINITE',
        `\`${name}\` contains a non-finite value (${data[i]}) at flat index ${i}.`,
        {
          name,
          index: i,
        },
      );
    }
  }
}

/**
 * In `validate: 'full'` mode, reads the `[B, C]` input `t` of a loss that expects **logits** and
 * warns (`PROBABILITY_LIKE_LOGITS`, through the handler set with `setWarningHandler`; by default
 * `console.warn` once per call site) when it looks like probabilities: every row non-negative and
 * summing to 1 within `1e-3`. Probabilities passed as logits are accepted by every logit loss and
 * give a finite but wrong loss (softmax of probabilities is nearly uniform), so this is a warning,
 * not an error. Does nothing in `'shapes'` mode or for `C < 2`. `who` names the function.
 *
 * @example
 * ```ts
 * const z = toLogits(logits, 'logits');
 * checkFinite(z, 'logits', validate);
 * warnIfProbabilities(z, 'logits', 'myLoss', validate);
 * ```
 */
export function warnIfProbabilities(
  t: tf.Tensor,
  name: string,
  who: string,
  validate: ValidateMode | undefined,
): void {
  if (validate !== 'full' || t.rank !== 2) return;
  const [rows, cols] = t.shape as [number, number];
  if (rows === 0 || cols < 2) return;
  const data = t.dataSync();
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c]!;
      if (!(v >= 0)) return;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return;
  }
  emitWarning(
    'PROBABILITY_LIKE_LOGITS',
    `${who}:${name}`,
    `${who}: \`${name}\` looks like probabilities (every row is non-negative and sums to 1), but logits are expected. ` +
      'Pass the pre-softmax outputs (remove the final softmax, or tap the layer before it), or `tf.log(probabilities)`.',
    { who, name },
  );
}

/**
 * Throws `GRADIENTS_NOT_REGISTERED` when a gradient tape is recording but tfjs-core has no
 * gradient functions registered (tfjs-core alone registers none). Cheap: one registry lookup.
 */
export function ensureGradients(): void {
  // `gradientDepth` > 0 exactly while a tape records (`activeTape` stays `[]` after a failed tf.grad).
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  if ((state?.gradientDepth ?? 0) > 0 && tf.getGradient('Multiply') === undefined) {
    throw new RelkdError(
      'GRADIENTS_NOT_REGISTERED',
      'A gradient is being computed but no tfjs gradients are registered. ' +
        "Call `await useBackend(...)` from '@relkd/backend' once at start-up (it registers them), " +
        "or import '@tensorflow/tfjs'.",
    );
  }
}
