import { assertNumber } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { checkIsEdges, type IsEdges } from './options';

/**
 * Redundant-edge pruning (REP) mask of the inter-sample graph over the stacked batch
 * `[Ss; Sv]` (`N = 2B` rows, row `B + i` is the virtual view of image `i`): a constant
 * `[2B, 2B]` float32 0/1 matrix.
 * - `'cross'` (default): 1 on the cross-view block `{(i, B + j) : i, j < B}` (B² edges).
 * - `'upper'`: 1 on the strict upper triangle `m < n` (`B(2B − 1)` edges).
 *
 * @example
 * ```ts
 * isEdgeMask(1); // [[0, 1], [0, 0]]
 * ```
 */
export function isEdgeMask(batchSize: number, isEdges: IsEdges = 'cross'): tf.Tensor2D {
  assertNumber(batchSize, 'batchSize', { min: 1, integer: true });
  checkIsEdges(isEdges, 'isEdges');
  const b = batchSize;
  return tf.tidy(() => {
    if (isEdges === 'cross') {
      return tf.pad(tf.ones([b, b]), [
        [0, b],
        [b, 0],
      ]) as tf.Tensor2D;
    }
    return strictUpper(2 * b);
  });
}

/** @internal Strict upper-triangular 0/1 matrix `[n, n]`. */
export function strictUpper(n: number): tf.Tensor2D {
  return tf.tidy(
    () => tf.sub(tf.linalg.bandPart(tf.ones([n, n]), 0, -1), tf.eye(n)) as tf.Tensor2D,
  );
}

/** Number of inter-sample edges kept by REP: `B²` (`'cross'`) or `B(2B − 1)` (`'upper'`). */
export function isEdgeCount(batchSize: number, isEdges: IsEdges = 'cross'): number {
  return isEdges === 'cross' ? batchSize * batchSize : batchSize * (2 * batchSize - 1);
}
