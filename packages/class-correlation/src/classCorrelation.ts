import type { TensorInput } from '@relkd/core';
import { ensureGradients, toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import {
  assertNormalize,
  assertOptionsObject,
  assertTemperature,
  type CorrelationNormalize,
} from './internal/options';

/** Options of {@link classCorrelation}. */
export interface ClassCorrelationOptions {
  /** Softmax temperature `τ > 0`: `P = softmax(Z/τ)`. Default `1`. */
  temperature?: number;
  /**
   * Normalisation of the Gram matrix `G = PᵀP`. Default `'batch'`.
   * - `'batch'`: `G / B` (entries sum to 1; comparable across batch sizes),
   * - `'frobenius'`: `G / ‖G‖_F` (unit Frobenius norm: only the shape of the correlation),
   * - `'none'`: the raw Gram (entries sum to `B`; additive over sub-batches).
   */
  normalize?: CorrelationNormalize;
}

/**
 * Inter-class correlation of a batch of logits: `P = softmax(Z/τ)` `[B, C]`, `G = PᵀP` `[C, C]`
 * with entry `G_cd = Σ_b p_bc · p_bd`, then normalised (`'batch'`: `/B`, `'frobenius'`:
 * `/‖G‖_F`, `'none'`: raw).
 *
 * `G` is symmetric and non-negative; the raw `G` sums to `B` and its row sums are the column
 * sums of `P`. The raw Gram is additive over sub-batches (`G(Z₁ ∪ Z₂) = G(Z₁) + G(Z₂)`), so to
 * accumulate the correlation of a whole data set sum the `'none'` matrices of its batches and
 * divide by the total number of rows at the end (that equals `'batch'` over the whole set).
 * `‖G‖_F ≥ sum(G)/C = B/C > 0`, so the Frobenius normalisation never divides by zero.
 *
 * Differentiable with respect to `logits`. Shapes: `logits [B, C]` float32 -> `[C, C]`.
 *
 * @throws RelkdError `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const g = classCorrelation(tf.tensor2d([[4, 0, 0], [0, 4, 0]]), { normalize: 'none' });
 * // ≈ diag-dominant 3×3 matrix summing to 2
 * ```
 */
export function classCorrelation(
  logits: tf.Tensor2D | TensorInput,
  options: ClassCorrelationOptions = {},
): tf.Tensor2D {
  assertOptionsObject(options);
  const { temperature = 1, normalize = 'batch' } = options;
  assertTemperature(temperature, 'options.temperature');
  assertNormalize(normalize, 'options.normalize');
  ensureGradients();
  return tf.tidy(() => {
    const z = toLogits(logits, 'logits');
    return correlationOf(z, temperature, normalize);
  });
}

/** The kernel composition of {@link classCorrelation} (no validation; call inside a tidy). */
export function correlationOf(
  z: tf.Tensor2D,
  temperature: number,
  normalize: CorrelationNormalize,
): tf.Tensor2D {
  const p = tf.softmax(temperature === 1 ? z : (tf.div(z, temperature) as tf.Tensor2D));
  return normalizeGram(tf.matMul(p, p, true, false), z.shape[0], normalize);
}

/**
 * Normalises a raw class Gram matrix `G = PᵀP` of a batch of `b` rows: `'batch'` `G / b`,
 * `'frobenius'` `G / ‖G‖_F`, `'none'` `G`. Shared by {@link correlationOf} and the `'gram'`
 * teacher regulariser (whose target Gram is built from the tracker's rows).
 */
export function normalizeGram(
  g: tf.Tensor2D,
  b: number,
  normalize: CorrelationNormalize,
): tf.Tensor2D {
  if (normalize === 'batch') return tf.div(g, b);
  if (normalize === 'frobenius') return tf.div(g, tf.sqrt(tf.sum(tf.square(g))));
  return g;
}
