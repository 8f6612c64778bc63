import { oneHotFloat, RelkdError, type TensorInput, type ValidateMode } from '@relkd/core';
import {
  assertNonEmpty,
  assertNumber,
  checkFinite,
  toLabels,
  toTensor,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type { MixupResult } from '../types';
import { broadcastLambda } from './mixArgs';
import { permuteRows } from './permuteRows';

/** The mixing coefficient(s) and the partner of each row, as tensors (or one number for λ). */
export interface Partners {
  lambda: number | tf.Tensor1D;
  perm: tf.Tensor1D;
}

/**
 * Checks what {@link mixup} and {@link mixupWith} check first: `options` is an object (else
 * `INVALID_OPTION` with `missing`, the message naming the required options) and `numClasses` a
 * positive integer, which it returns.
 */
export function mixNumClasses(
  options: { numClasses: number } | null | undefined,
  missing: string,
): number {
  if (options === null || typeof options !== 'object') {
    throw new RelkdError('INVALID_OPTION', missing);
  }
  const { numClasses } = options;
  assertNumber(numClasses, 'options.numClasses', { min: 1, integer: true });
  return numClasses;
}

/**
 * The frame of {@link mixup} and {@link mixupWith}, in one `tf.tidy`: converts and checks the
 * batch (`inputs` float `[B, …]`, non-empty; `labels` `[B]` in `[0, numClasses)`), calls
 * `partners(B)` (which checks given λ and π, or only captures B), checks the inputs are finite
 * (`validate: 'full'`), then calls what `partners` returned for λ and π (a random draw happens
 * only here, after every check) and mixes:
 * `x̃ = λ·x + (1 − λ)·x[π]`, `ỹ = λ·onehot(y) + (1 − λ)·onehot(y[π])`.
 */
export function mixBatch<R extends tf.Rank>(
  inputs: tf.Tensor<R> | TensorInput,
  labels: tf.Tensor1D | TensorInput,
  numClasses: number,
  validate: ValidateMode,
  partners: (batchSize: number) => () => Partners,
): MixupResult<R> {
  return tf.tidy(() => {
    const x = toTensor(inputs, 'inputs', 'float');
    assertNonEmpty(x, 'inputs');
    const b = x.shape[0]!;
    const y = toLabels(labels, numClasses, b, 'labels', validate);
    const take = partners(b);
    checkFinite(x, 'inputs', validate);
    const { lambda, perm } = take();
    return mixTensors(x, y, lambda, perm, numClasses) as MixupResult<R>;
  });
}

/** The mixing itself, on validated tensors (inside a `tf.tidy`). */
function mixTensors(
  x: tf.Tensor,
  y: tf.Tensor1D,
  lambda: number | tf.Tensor1D,
  perm: tf.Tensor1D,
  numClasses: number,
): MixupResult {
  const lamX = broadcastLambda(lambda, x.rank);
  const lamY = broadcastLambda(lambda, 2);
  const oneMinus = (l: number | tf.Tensor): number | tf.Tensor =>
    typeof l === 'number' ? 1 - l : tf.sub(1, l);
  // λ·x + (1 − λ)·x[π] (not x[π] + λ(x − x[π])): exact at λ = 1 and λ = 0.
  const mixedInputs = tf.add(tf.mul(x, lamX), tf.mul(permuteRows(x, perm), oneMinus(lamX)));
  const labelsB = tf.gather(y, perm) as tf.Tensor1D;
  const targets = tf.add(
    tf.mul(oneHotFloat(y, numClasses), lamY),
    tf.mul(oneHotFloat(labelsB, numClasses), oneMinus(lamY)),
  ) as tf.Tensor2D;
  return {
    inputs: mixedInputs,
    lambda: typeof lambda === 'number' ? lambda : (tf.clone(lambda) as tf.Tensor1D),
    permutation: tf.clone(perm),
    labelsA: tf.clone(y),
    labelsB,
    targets,
  };
}
