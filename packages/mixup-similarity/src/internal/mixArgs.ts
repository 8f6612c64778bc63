import { RelkdError, type ValidateMode } from '@relkd/core';
import { assertNumber, formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/** A mixing coefficient: one number for the batch, or one per sample (`[B]`). */
export type LambdaInput = number | readonly number[] | Float32Array | tf.Tensor1D;

/** A permutation of `[0, B)`: an int32 tensor `[B]` or JS integers. */
export type PermutationInput = tf.Tensor1D | readonly number[] | Int32Array;

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

/** Checks JS λ values: each a finite number in `[0, 1]`. */
export function checkLambdaValues(values: ArrayLike<unknown>, name: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}[${i}]\` = ${String(v)} is not a mixing coefficient in [0, 1].`,
        { name, index: i, value: v },
      );
    }
  }
}

/**
 * Normalises λ: a number stays a number (checked in `[0, 1]`); an array becomes a float32
 * tensor `[B]` (values checked); a tensor must be float32 `[B]` (values checked only with
 * `validate: 'full'`). Tensors are returned as given (no copy). Call inside `tf.tidy`.
 *
 * @throws RelkdError `INVALID_OPTION`, `DTYPE_MISMATCH`, `RANK_MISMATCH`, `SHAPE_MISMATCH`
 */
export function toLambda(
  lambda: unknown,
  batch: number,
  name: string,
  validate: ValidateMode | undefined,
): number | tf.Tensor1D {
  if (typeof lambda === 'number') {
    assertNumber(lambda, name, { min: 0, max: 1 });
    return lambda;
  }
  if (lambda === undefined || lambda === null) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` is required: a number in [0, 1] or a [B] array/tensor of them.`,
      { name },
    );
  }
  if (lambda instanceof tf.Tensor) {
    if (lambda.isDisposed) {
      throw new RelkdError('INVALID_OPTION', `\`${name}\` is a disposed tensor.`, { name });
    }
    if (lambda.dtype !== 'float32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`${name}\` must be a float32 tensor of per-sample coefficients, got ${lambda.dtype}.`,
        { name, expected: 'float32', actual: lambda.dtype },
      );
    }
    if (lambda.rank !== 1) {
      throw new RelkdError(
        'RANK_MISMATCH',
        `\`${name}\` must be a number or a [B] = [${batch}] tensor of per-sample coefficients, got shape ${formatShape(lambda.shape)}.`,
        { name, expected: [batch], actual: lambda.shape },
      );
    }
    if (lambda.shape[0] !== batch) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must have one coefficient per sample: expected [${batch}], got ${formatShape(lambda.shape)}.`,
        { name, expected: [batch], actual: lambda.shape },
      );
    }
    if (validate === 'full') checkLambdaValues(lambda.dataSync(), name);
    return lambda as tf.Tensor1D;
  }
  if (isArrayLike(lambda)) {
    if (lambda.length !== batch) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must have one coefficient per sample: expected ${batch}, got ${lambda.length}.`,
        { name, expected: [batch], actual: [lambda.length] },
      );
    }
    checkLambdaValues(lambda, name);
    return tf.tensor1d(Array.from(lambda as ArrayLike<number>), 'float32');
  }
  throw new RelkdError(
    'INVALID_OPTION',
    `\`${name}\` must be a number in [0, 1] or a [B] array/tensor of them, got ${typeof lambda}.`,
    { name },
  );
}

/** Checks that JS values are a permutation of `[0, n)`. @throws RelkdError `INVALID_OPTION` */
export function checkPermutationValues(values: ArrayLike<unknown>, name: string): void {
  const n = values.length;
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}\` is not a permutation of [0, ${n}): \`${name}[${i}]\` = ${String(v)} is not an index in [0, ${n}).`,
        { name, index: i, value: v },
      );
    }
    if (seen[v] === 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}\` is not a permutation of [0, ${n}): the index ${v} appears twice (again at position ${i}).`,
        { name, index: i, value: v },
      );
    }
    seen[v] = 1;
  }
}

/**
 * Normalises a permutation to an int32 tensor `[B]`. JS values are fully checked (length and
 * permutation: cheap, the data is on the CPU); a tensor is checked for dtype and shape only,
 * unless `validate: 'full'` (reads it back). Tensors are returned as given. Call inside `tf.tidy`.
 *
 * @throws RelkdError `DTYPE_MISMATCH`, `RANK_MISMATCH`, `SHAPE_MISMATCH`, `INVALID_OPTION`
 */
export function toPermutation(
  permutation: unknown,
  batch: number,
  name: string,
  validate: ValidateMode | undefined,
): tf.Tensor1D {
  if (permutation instanceof tf.Tensor) {
    if (permutation.isDisposed) {
      throw new RelkdError('INVALID_OPTION', `\`${name}\` is a disposed tensor.`, { name });
    }
    if (permutation.dtype !== 'int32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `\`${name}\` must be an int32 tensor, got ${permutation.dtype}. Use \`tf.tensor1d(perm, 'int32')\`.`,
        { name, expected: 'int32', actual: permutation.dtype },
      );
    }
    if (permutation.rank !== 1) {
      throw new RelkdError(
        'RANK_MISMATCH',
        `\`${name}\` must have shape [B] = [${batch}], got ${formatShape(permutation.shape)}.`,
        { name, expected: [batch], actual: permutation.shape },
      );
    }
    if (permutation.shape[0] !== batch) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must be a permutation of the ${batch} rows: expected shape [${batch}], got ${formatShape(permutation.shape)}.`,
        { name, expected: [batch], actual: permutation.shape },
      );
    }
    if (validate === 'full') checkPermutationValues(permutation.dataSync(), name);
    return permutation as tf.Tensor1D;
  }
  if (isArrayLike(permutation)) {
    if (permutation.length !== batch) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`${name}\` must be a permutation of the ${batch} rows: expected length ${batch}, got ${permutation.length}.`,
        { name, expected: [batch], actual: [permutation.length] },
      );
    }
    checkPermutationValues(permutation, name);
    return tf.tensor1d(Array.from(permutation as ArrayLike<number>), 'int32');
  }
  throw new RelkdError(
    'INVALID_OPTION',
    `\`${name}\` must be an int32 tensor [B] or an array of indices, got ${permutation === null ? 'null' : typeof permutation}.`,
    { name },
  );
}

/** Reshapes a per-sample λ `[B]` so it broadcasts over a tensor of rank `rank` (`[B, 1, …, 1]`). */
export function broadcastLambda(lambda: number | tf.Tensor1D, rank: number): number | tf.Tensor {
  if (typeof lambda === 'number') return lambda;
  const b = lambda.shape[0];
  return tf.reshape(lambda, [b, ...new Array<number>(Math.max(rank - 1, 0)).fill(1)]);
}
