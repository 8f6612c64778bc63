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
} from '../validation/validation';
import { fusedSoftCe } from './fusedSoftCe';

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Input checking; `'full'` also checks label ranges on tensors and finite logits. Default `'shapes'`. */
  validate?: ValidateMode;
}

/**
 * Mean cross-entropy of integer labels: `−(1/B) Σ_b logSoftmax(logits)_b[y_b]`.
 *
 * Shapes: `logits [B, C]` float32, `labels [B]` int32 in `[0, C)` (a JS array is accepted and
 * range-checked). Returns a scalar. Vectorised with a one-hot mask (no gather), so it
 * differentiates on every backend.
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
    const mask = oneHotFloat(y, c); // no gradient path; works for C = 1 and on wasm
    return fusedSoftCe(z, mask, 1, 1 / b);
  });
}
