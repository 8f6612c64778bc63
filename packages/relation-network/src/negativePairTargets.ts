import { RelkdError, type TensorInput, type ValidateMode } from '@relkd/core';
import { assertNumber, toLabels, toTensor } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The soft target of a negative pair in CORSD: `q = ½·(onehot(y_anchor) + onehot(y_negative))`,
 * `[B] × [B] -> [B, C]`. Each row sums to 1 and holds two entries of 0.5 (a single 1 when both
 * labels are equal, which {@link tripletIndices} never produces). No gradient path (labels are
 * integers). The released code softmaxes this target once more at temperature T; we use it as is.
 *
 * @throws RelkdError `RANK_MISMATCH`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE`,
 *   `INVALID_OPTION`
 * @example
 * ```ts
 * negativePairTargets([0, 2], [1, 0], 3); // [[0.5, 0.5, 0], [0.5, 0, 0.5]]
 * ```
 */
export function negativePairTargets(
  anchorLabels: tf.Tensor1D | TensorInput,
  negativeLabels: tf.Tensor1D | TensorInput,
  numClasses: number,
  validate: ValidateMode = 'shapes',
): tf.Tensor2D {
  assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
  return tf.tidy(() => {
    const a = toTensor(anchorLabels, 'anchorLabels', 'int');
    if (a.rank !== 1) {
      throw new RelkdError(
        'RANK_MISMATCH',
        `\`anchorLabels\` must be [B] int32 class indices, got rank ${a.rank}.`,
      );
    }
    const b = a.shape[0]!;
    const ya = toLabels(anchorLabels, numClasses, b, 'anchorLabels', validate);
    const yn = toLabels(negativeLabels, numClasses, b, 'negativeLabels', validate);
    return softTargets(ya, yn, numClasses);
  });
}

/** `½(onehot(ya) + onehot(yn))` for validated int32 `[B]` labels (shared with corsdLoss). */
export function softTargets(ya: tf.Tensor1D, yn: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  const sum = tf.add(tf.oneHot(ya, numClasses), tf.oneHot(yn, numClasses));
  return tf.mul(tf.cast(sum, 'float32'), 0.5) as tf.Tensor2D;
}
