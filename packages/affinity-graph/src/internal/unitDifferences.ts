import { safeSqrt } from '@relkd/core';
import { withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/** Edges of one graph: unit difference vectors, their norms and the validity mask. */
export interface AffinityEdges {
  /** `[V, V, D]`: `edges[m, n] = (v_m − v_n) / ‖v_m − v_n‖`, exactly 0 where the edge is invalid. */
  edges: tf.Tensor3D;
  /** `[V, V]`: `‖v_m − v_n‖`. */
  norms: tf.Tensor2D;
  /**
   * `[V, V]` float32 0/1 (no gradient): 1 where `‖v_m − v_n‖ > epsilon` and (with a relative
   * `tolerance > 0`) `‖v_m − v_n‖² > tolerance · (‖v_m‖² + ‖v_n‖²)`.
   */
  valid: tf.Tensor2D;
}

/**
 * All ordered pairwise unit differences of the rows of `v` `[V, D]`. An edge is valid when its
 * squared norm exceeds `max(epsilon², tolerance · (‖v_m‖² + ‖v_n‖²))` (`tolerance = 0`: the plain
 * absolute rule `‖v_m − v_n‖ > epsilon`; `vrmLoss` passes its `gramTolerance`, the same rule as
 * the Gram path, so a near-duplicate pair whose difference is float32 noise counts as invalid).
 * Invalid edges are exactly 0 and pass no gradient (the norm is replaced by 1 arithmetically
 * before dividing, so no 0/0 appears in the forward or the backward pass).
 */
export function unitDifferences(v: tf.Tensor2D, epsilon: number, tolerance = 0): AffinityEdges {
  const [n, d] = v.shape;
  const diff = tf.sub(tf.reshape(v, [n, 1, d]), tf.reshape(v, [1, n, d])) as tf.Tensor3D;
  const sq = tf.sum(tf.square(diff), -1) as tf.Tensor2D;
  const norms = safeSqrt(sq) as tf.Tensor2D;
  const absValid = (x: tf.Tensor) => tf.greater(x, epsilon);
  const valid = (
    tolerance > 0
      ? withoutGradient([norms, sq, v], (x, s2, rows) => {
          const q = tf.sum(tf.square(rows as tf.Tensor), 1, true);
          const floor = tf.mul(tf.add(q, tf.reshape(q, [1, n])), tolerance);
          return tf.cast(tf.logicalAnd(absValid(x!), tf.greater(s2!, floor)), 'float32');
        })
      : withoutGradient([norms], (x) => tf.cast(absValid(x!), 'float32'))
  ) as tf.Tensor2D;
  const safeNorms = tf.add(tf.mul(norms, valid), tf.sub(1, valid));
  const edges = tf.mul(
    tf.div(diff, tf.expandDims(safeNorms, -1)),
    tf.expandDims(valid, -1),
  ) as tf.Tensor3D;
  return { edges, norms, valid };
}
