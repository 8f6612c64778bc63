import * as tf from '@tensorflow/tfjs-core';
import {
  assertNumber,
  ensureGradients,
  resolveValidate,
  type TensorInput,
  type ValidateMode,
  warnIfProbabilities,
} from '../validation/validation';
import { fusedSoftCe } from './fusedSoftCe';
import { toLogitPair } from './logitPair';

/** Options of {@link softCrossEntropy}. */
export interface SoftCrossEntropyOptions {
  /** Softmax temperature `T > 0` applied to the logits. Default `1`. */
  temperature?: number;
  /**
   * Input checking. Default `'shapes'`. `'full'` reads the data: `NON_FINITE` inputs, and a
   * `PROBABILITY_LIKE_LOGITS` warning when `logits` look like probabilities.
   */
  validate?: ValidateMode;
}

/**
 * Cross-entropy against soft targets: `−(1/B) Σ_b Σ_c targets_bc · logSoftmax(logits/T)_bc`.
 *
 * Shapes: `logits [B, C]`, `targets [B, C]` whose rows are distributions (not checked; a
 * non-normalised row scales its sample's term). Targets get no gradient. Default `T = 1`.
 *
 * @throws RelkdError `SHAPE_MISMATCH`, `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`,
 *   `INVALID_OPTION` (T <= 0), `NON_FINITE` (`validate: 'full'` only)
 * @example
 * ```ts
 * softCrossEntropy(tf.tensor2d([[0, 0]]), tf.tensor2d([[0.5, 0.5]])); // ln 2 ≈ 0.6931
 * ```
 */
export function softCrossEntropy(
  logits: tf.Tensor2D | TensorInput,
  targets: tf.Tensor2D | TensorInput,
  options: SoftCrossEntropyOptions = {},
): tf.Scalar {
  const { temperature = 1 } = options;
  assertNumber(temperature, 'options.temperature', { min: 0, exclusiveMin: true });
  const validate = resolveValidate(options.validate);
  ensureGradients();
  return tf.tidy(() => {
    const [z, q] = toLogitPair(logits, targets, 'logits', 'targets', validate);
    warnIfProbabilities(z, 'logits', 'softCrossEntropy', validate);
    return fusedSoftCe(z, q, temperature, 1 / z.shape[0]);
  });
}
