import {
  RelkdError,
  Rng,
  sampleBeta,
  seededPermutation,
  type TensorInput,
  type ValidateMode,
} from '@relkd/core';
import { assertNumber, resolveValidate } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { mixBatch, mixNumClasses } from './internal/mixBatch';
import type { MixupResult } from './types';

/** Options of {@link mixup}. */
export interface MixupOptions {
  /** Number of classes `C` (a positive integer); the labels must lie in `[0, C)`. Required. */
  numClasses: number;
  /**
   * Beta concentration `α >= 0`: `λ ~ Beta(α, α)`. `α = 0` means no mixing (`λ = 1`).
   * Default `1` (λ uniform on [0, 1], mixup's usual choice for CIFAR).
   */
  alpha?: number;
  /**
   * Randomness. A number seeds a fresh {@link Rng}, so the same seed, batch size and options
   * always give the same `λ` and `π` on every backend; pass a different seed each step (e.g. the
   * step number), or pass an `Rng`, which is advanced, to continue one stream over many steps.
   * Required (relkd never uses hidden global randomness).
   */
  seed: number | Rng;
  /**
   * One `λ_i` per sample instead of one `λ` for the batch (our option; the paper's mixup shares
   * one λ per batch). Default `false`.
   */
  perSample?: boolean;
  /** `'shapes'` (default) or `'full'` (also reads tensor labels back and checks the inputs are finite). */
  validate?: ValidateMode;
}

/**
 * Mixup virtual samples for STKD: draws `λ ~ Beta(α, α)` (once per batch, or per sample) and a
 * random permutation `π` of the batch from a seeded {@link Rng}, then returns
 * `x̃ = λ·x + (1 − λ)·x[π]` and the mixed soft labels `ỹ = λ·onehot(y) + (1 − λ)·onehot(y[π])`.
 * Feed `x̃` to both the teacher and the student, and `ỹ` to {@link stkdLoss} as `targets`.
 *
 * Draw order from the generator: λ first (one draw, or B draws with `perSample`; none when
 * `α = 0`), then `π` (Fisher–Yates). Everything random happens in JavaScript: no tensor is read
 * back and the call dispatches a fixed number of kernels.
 *
 * Shapes: `inputs [B, …]` float32 of any rank ≥ 1 (images NHWC `[B, H, W, C]`, feature vectors
 * `[B, D]`, token embeddings `[B, T, D]`), `labels [B]` int32 (or a JS array, range-checked).
 * B = 1 is allowed (π is then the identity). Defaults: `alpha = 1`, `perSample = false`.
 *
 * @returns `{ inputs: x̃, lambda, permutation, labelsA: y, labelsB: y[π], targets: ỹ }`:
 * `lambda` is a `number` per batch or a float32 tensor `[B]` with `perSample`; `permutation` is an
 * int32 tensor `[B]`. All tensors are new; dispose them (`tf.dispose(result)`).
 * @throws RelkdError `INVALID_OPTION` (α < 0, missing seed, bad numClasses), `DTYPE_MISMATCH`
 * (inputs not float32, labels not int32), `RANK_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_BATCH`,
 * `LABEL_OUT_OF_RANGE`
 * @example
 * ```ts
 * const { inputs, targets } = mixup(images, labels, { numClasses: 10, seed: step });
 * const s = student.apply(inputs) as tf.Tensor2D;
 * const t = teacher.apply(inputs) as tf.Tensor2D;   // the same mixed batch
 * const { total } = stkdLoss({ student: s, teacher: t, targets });
 * ```
 */
export function mixup<R extends tf.Rank>(
  inputs: tf.Tensor<R> | TensorInput,
  labels: tf.Tensor1D | TensorInput,
  options: MixupOptions,
): MixupResult<R> {
  const numClasses = mixNumClasses(
    options,
    '`options` { numClasses, seed } are required by mixup.',
  );
  const { alpha = 1, seed, perSample = false } = options;
  assertNumber(alpha, 'options.alpha', { min: 0 });
  const validate = resolveValidate(options.validate);
  if (!(seed instanceof Rng)) {
    if (seed === undefined) {
      throw new RelkdError(
        'INVALID_OPTION',
        '`options.seed` is required: pass a number (e.g. the step number) or an Rng from @relkd/core.',
        { name: 'options.seed' },
      );
    }
    assertNumber(seed, 'options.seed');
  }
  if (typeof perSample !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.perSample\` must be a boolean, got ${String(perSample)}.`,
      {
        name: 'options.perSample',
        value: perSample,
      },
    );
  }
  return mixBatch(inputs, labels, numClasses, validate, (b) => () => {
    // All validation is done: only now draw (so a throwing call does not advance a given Rng).
    const rng = seed instanceof Rng ? seed : new Rng(seed);
    const lambda: number | tf.Tensor1D = perSample
      ? tf.tensor1d(sampleLambdas(alpha, b, rng), 'float32')
      : (sampleLambdas(alpha, 1, rng)[0] as number);
    return { lambda, perm: tf.tensor1d(seededPermutation(b, rng), 'int32') };
  });
}

/** `count` draws of `Beta(α, α)`; `α = 0` gives ones (no draw). */
export function sampleLambdas(alpha: number, count: number, rng: Rng): number[] {
  if (alpha === 0) return new Array<number>(count).fill(1);
  return sampleBeta(alpha, alpha, { rng }, count);
}
