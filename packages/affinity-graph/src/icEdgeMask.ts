import { assertNumber } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';
import { strictUpper } from './isEdgeMask';

/**
 * Redundant-edge pruning mask of the inter-class graph: `[C, C]` float32 0/1, 1 where `c < d`
 * (`E[d, c] = −E[c, d]`, so the lower triangle carries no extra information).
 *
 * @example
 * ```ts
 * icEdgeMask(3); // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 * ```
 */
export function icEdgeMask(numClasses: number): tf.Tensor2D {
  assertNumber(numClasses, 'numClasses', { min: 1, integer: true });
  return strictUpper(numClasses);
}
