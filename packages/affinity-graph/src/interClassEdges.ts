import type { TensorInput } from '@relkd/core';
import { toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { type AffinityEdges, unitDifferences } from './internal/unitDifferences';
import type { EdgeOptions } from './interSampleEdges';
import { checkEpsilon, EDGE_EPSILON } from './options';

/**
 * Inter-class (IC) affinity graph: the vertices are the columns `w_c = y[:, c] ∈ R^N` of `y`
 * `[N, C]`, and the edge from `c` to `d` is `E[c, d] = (w_c − w_d) / ‖w_c − w_d‖` (`[C, C, N]`).
 * Invalid edges (norm `<= epsilon`) are exactly 0 and pass no gradient. The full ordered graph
 * is returned; {@link icEdgeMask} keeps `c < d` (the rest is redundant by antisymmetry).
 *
 * @example
 * ```ts
 * const { edges } = interClassEdges(tf.tensor2d([[1, 0], [0, 1]]));
 * // edges[0][1] = [0.7071, -0.7071]
 * ```
 */
export function interClassEdges(y: TensorInput, options: EdgeOptions = {}): AffinityEdges {
  const { epsilon = EDGE_EPSILON } = options;
  checkEpsilon(epsilon, 'options.epsilon');
  return tf.tidy(() => {
    const t = toLogits(y, 'y');
    return unitDifferences(
      tf.transpose(t) as tf.Tensor2D,
      epsilon,
    ) as unknown as tf.TensorContainerObject;
  }) as unknown as AffinityEdges;
}
