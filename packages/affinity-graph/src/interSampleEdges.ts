import type { TensorInput } from '@relkd/core';
import { toLogits } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { type AffinityEdges, unitDifferences } from './internal/unitDifferences';
import { checkEpsilon, EDGE_EPSILON } from './options';

export type { AffinityEdges } from './internal/unitDifferences';

/** Options of {@link interSampleEdges} and {@link interClassEdges}. */
export interface EdgeOptions {
  /** An edge is valid when its norm exceeds this. Default `1e-8`. */
  epsilon?: number;
}

/**
 * Inter-sample (IS) affinity graph: the vertices are the rows `y_m ∈ R^C` of `y` `[N, C]`, and
 * the edge from `m` to `n` is the unit difference vector
 * `E[m, n] = (y_m − y_n) / ‖y_m − y_n‖`  (`[N, N, C]`).
 * Edges with `‖y_m − y_n‖ <= epsilon` (e.g. the diagonal, duplicate rows) are invalid: they are
 * exactly 0, flagged 0 in `valid`, and pass no gradient. The full ordered graph is returned;
 * {@link isEdgeMask} selects the non-redundant edges. No z-scoring is applied here (see
 * {@link affinityGraph}).
 *
 * @example
 * ```ts
 * const { edges, valid } = interSampleEdges(tf.tensor2d([[0, 0], [3, 4]]));
 * // edges[0][1] = [-0.6, -0.8], edges[1][0] = [0.6, 0.8], valid = [[0, 1], [1, 0]]
 * ```
 */
export function interSampleEdges(y: TensorInput, options: EdgeOptions = {}): AffinityEdges {
  const { epsilon = EDGE_EPSILON } = options;
  checkEpsilon(epsilon, 'options.epsilon');
  return tf.tidy(() => {
    const t = toLogits(y, 'y');
    return unitDifferences(t, epsilon) as unknown as tf.TensorContainerObject;
  }) as unknown as AffinityEdges;
}
