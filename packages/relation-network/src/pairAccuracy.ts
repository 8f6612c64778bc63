import { RelkdError, type TensorInput, type ValidateMode } from '@relkd/core';
import { toLabels, toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type { CorsdStageInput } from './corsdLoss';

/**
 * Accuracy of each stage's auxiliary classifier on the positive pairs:
 * `acc_k = (1/B) Σ_b [argmax_c u⁺_k[b, c] = y_anchor[b]]`, shallow -> deepest. A monitoring
 * metric (no gradient: `argMax` and `equal` are not differentiable; nothing is read back). In
 * CORSD the deepest network teaches the shallow ones, so its accuracy should reach the
 * backbone head's on the same images; a stage that stays near chance is a relation network that
 * does not learn.
 *
 * @param stages the K stages' outputs (`positive.logits [B, C]` is used), as for {@link corsdLoss}.
 * @param anchorLabels int32 `[B]` anchor labels in `[0, C)`.
 * @returns K new float32 scalars in [0, 1] (the caller disposes them).
 * @throws RelkdError `INVALID_OPTION` (no stages), `RANK_MISMATCH`, `SHAPE_MISMATCH`,
 *   `DTYPE_MISMATCH`, `LABEL_OUT_OF_RANGE` (validate 'full')
 * @example
 * ```ts
 * const stages = relationStages(nets, feats, t, { training: true });
 * const [acc1, acc2, acc3] = pairAccuracy(stages, labels); // scalars
 * ```
 */
export function pairAccuracy(
  stages: readonly CorsdStageInput[],
  anchorLabels: tf.Tensor1D | TensorInput,
  validate: ValidateMode = 'shapes',
): tf.Scalar[] {
  if (!Array.isArray(stages) || stages.length === 0) {
    throw new RelkdError('INVALID_OPTION', '`stages` must list at least one stage.', {
      name: 'stages',
    });
  }
  return tf.tidy(() => {
    let y: tf.Tensor1D | undefined;
    return stages.map((stage, k) => {
      const u = toLogits(stage?.positive?.logits, `stages[${k}].positive.logits`);
      const [b, c] = u.shape;
      y ??= toLabels(anchorLabels, c, b, 'anchorLabels', validate);
      if (y.shape[0] !== b) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `\`stages[${k}].positive.logits\` has ${b} rows, the labels ${y.shape[0]}.`,
        );
      }
      return tf.mean(tf.cast(tf.equal(tf.argMax(u, 1), y), 'float32')) as tf.Scalar;
    });
  });
}
