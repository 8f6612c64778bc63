import type * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertRank, formatShape, type TensorInput, toTensor } from '../validation/validation';

/**
 * Internal: converts the row sets `a [N, D]` and `b [M, D]` of a pairwise matrix
 * (`pairwiseSquaredDistances`, `cosineSimilarityMatrix`); `b` omitted returns `a` twice (the same
 * tensor, so callers can test `tb === ta`). Call it inside `tf.tidy`.
 *
 * @throws RelkdError `DTYPE_MISMATCH`, `RANK_MISMATCH`, `SHAPE_MISMATCH` (different row widths)
 */
export function toRowPair(a: TensorInput, b: TensorInput | undefined): [tf.Tensor2D, tf.Tensor2D] {
  const ta = toTensor(a, 'a') as tf.Tensor2D;
  assertRank(ta, 2, 'a', '[N, D]');
  const tb = b === undefined ? ta : (toTensor(b, 'b') as tf.Tensor2D);
  assertRank(tb, 2, 'b', '[M, D]');
  if (ta.shape[1] !== tb.shape[1]) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `\`a\` and \`b\` must have the same row width D, got ${formatShape(ta.shape)} and ${formatShape(tb.shape)}.`,
      { shapes: [ta.shape, tb.shape] },
    );
  }
  return [ta, tb];
}
