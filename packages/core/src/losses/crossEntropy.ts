import * as tf from '@tensorflow/tfjs-core';
import { oneHotFloat } from '../math/oneHotFloat';
import {
  checkFinite,
  ensureGradients,
  resolveValidate,
  type TensorInput,
  toLabels,
  toLogits,
  type ValidateMode,
  warnIfProbabilities,
} from '../validation/validation';
import { fusedSoftCe } from './fusedSoftCe';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /**
   * Input checking. Default `'shapes'` (no data read): out-of-range **tensor** labels are then not
   * detected and give a finite, wrong loss (their one-hot row is zero, so the sample adds 0).
   * `'full'` reads the data: `LABEL_OUT_OF_RANGE` for tensor labels outside `[0, C)`, `NON_FINITE`
   * logits, and a `PROBABILITY_LIKE_LOGITS` warning when the logits look like probabilities.
   */
  validate?: ValidateMode;
}

/**
 * Mean cross-entropy of integer labels: `−(1/B) Σ_b logSoftmax(logits)_b[y_b]`.
 *
 * Shapes: `logits [B, C]` float32, `labels [B]` int32 in `[0, C)` (a JS array is accepted and
 * range-checked). Returns a scalar. Vectorised with a one-hot mask (no gather), so it
 * differentiates on every backend.
 *
 * Silent trap: with the default `validate: 'shapes'`, a tensor label outside `[0, C)` is not
 * detected (that would need a read-back); its sample contributes 0 to the sum and the loss stays
 * finite. Use `validate: 'full'` while debugging (or `Distiller.fit`, which checks labels once).
 *
 * @throws RelkdError `RANK_MISMATCH`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`,
 *   `LABEL_OUT_OF_RANGE`, `INVALID_OPTION`, `NON_FINITE` (`validate: 'full'` only)
 * @example
 * ```ts
 * const loss = crossEntropy(tf.tensor2d([[2, 0], [0, 2]]), tf.tensor1d([0, 1], 'int32')); // ≈ 0.1269
 * ```
 */
export function crossEntropy(
  logits: tf.Tensor2D | TensorInput,
  labels: tf.Tensor1D | TensorInput,
  options: CrossEntropyOptions = {},
): tf.Scalar {
  const validate = resolveValidate(options.validate);
  ensureGradients();
  return tf.tidy(() => {
    const z = toLogits(logits, 'logits');
    const [b, c] = z.shape;
    const y = toLabels(labels, c, b, 'labels', validate);
    checkFinite(z, 'logits', validate);
    warnIfProbabilities(z, 'logits', 'crossEntropy', validate);
    const mask = oneHotFloat(y, c); // no gradient path; works for C = 1 and on wasm
    return fusedSoftCe(z, mask, 1, 1 / b);
  });
}
