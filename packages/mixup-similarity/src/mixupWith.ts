import type { TensorInput, ValidateMode } from '@relkd/core';
import { resolveValidate } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type LambdaInput,
  type PermutationInput,
  toLambda,
  toPermutation,
} from './internal/mixArgs';
import { mixBatch, mixNumClasses } from './internal/mixBatch';
import type { MixupResult } from './types';

/** Options of {@link mixupWith}: the mixing is given, nothing is random. */
export interface MixupWithOptions {
  /** Number of classes `C` (a positive integer); the labels must lie in `[0, C)`. Required. */
  numClasses: number;
  /**
   * The mixing coefficient in `[0, 1]`: a number shared by the batch, or one per sample
   * (a `[B]` array or float32 tensor). Required.
   */
  lambda: LambdaInput;
  /**
   * The partner of each row, a permutation of `[0, B)`: an int32 tensor `[B]` or JS integers.
   * JS values are always checked to be a permutation; a tensor only for dtype and shape unless
   * `validate: 'full'`. Required.
   */
  permutation: PermutationInput;
  /**
   * `'shapes'` (default) never reads tensors back; `'full'` also reads tensor labels, λ and
   * permutations to check their values, and checks the inputs are finite.
   */
  validate?: ValidateMode;
}

/**
 * Deterministic mixup: mixes each sample with a given partner,
 * `x̃_i = λ_i·x_i + (1 − λ_i)·x_{π_i}` and `ỹ_i = λ_i·onehot(y_i) + (1 − λ_i)·onehot(y_{π_i})`
 * (`λ_i = λ` for a shared coefficient). {@link mixup} draws `λ` and `π` and calls this.
 *
 * Shapes: `inputs [B, …]` float32 of any rank ≥ 1 (images NHWC `[B, H, W, C]`, feature vectors
 * `[B, D]`, token embeddings `[B, T, D]`), `labels [B]` int32 class indices (a JS array is
 * accepted and range-checked). B = 1 is allowed.
 *
 * Differentiable w.r.t. `inputs` on every backend (the row permutation has its own gradient, a
 * gather with `π⁻¹`, because WASM lacks the kernel behind tfjs's `gather` gradient).
 *
 * @returns `{ inputs: x̃, lambda, permutation, labelsA: y, labelsB: y[π], targets: ỹ }`; `lambda`
 * is a number when one was given, a float32 tensor `[B]` for per-sample coefficients.
 * @throws RelkdError `DTYPE_MISMATCH` (inputs not float32, labels or permutation not int32),
 * `RANK_MISMATCH`, `SHAPE_MISMATCH` (labels, λ or permutation not of length B), `EMPTY_BATCH`,
 * `LABEL_OUT_OF_RANGE`, `INVALID_OPTION` (λ outside [0, 1], not a permutation, bad numClasses)
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 0], [0, 1]]);
 * const y = tf.tensor1d([0, 1], 'int32');
 * const m = mixupWith(x, y, { numClasses: 2, lambda: 0.75, permutation: [1, 0] });
 * // m.inputs  = [[0.75, 0.25], [0.25, 0.75]]
 * // m.targets = [[0.75, 0.25], [0.25, 0.75]]
 * ```
 */
export function mixupWith<R extends tf.Rank>(
  inputs: tf.Tensor<R> | TensorInput,
  labels: tf.Tensor1D | TensorInput,
  options: MixupWithOptions,
): MixupResult<R> {
  const numClasses = mixNumClasses(
    options,
    '`options` { numClasses, lambda, permutation } are required by mixupWith.',
  );
  const validate = resolveValidate(options.validate);
  return mixBatch(inputs, labels, numClasses, validate, (b) => {
    const lambda = toLambda(options.lambda, b, 'options.lambda', validate);
    const perm = toPermutation(options.permutation, b, 'options.permutation', validate);
    return () => ({ lambda, perm });
  });
}
