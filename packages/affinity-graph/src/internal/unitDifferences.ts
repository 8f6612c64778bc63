import { safeSqrt } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { noGrad } from './noGrad';

/** Edges of one graph: unit difference vectors, their norms and the validity mask. */
export interface AffinityEdges {
  /** `[V, V, D]`: `edges[m, n] = (v_m − v_n) / ‖v_m − v_n‖`, exactly 0 where the edge is invalid. */
  edges: tf.Tensor3D;
  /** `[V, V]`: `‖v_m − v_n‖`. */
  norms: tf.Tensor2D;
  /** `[V, V]` float32 0/1 (no gradient): 1 where `‖v_m − v_n‖ > epsilon`. */
  valid: tf.Tensor2D;
}

/**
 * All ordered pairwise unit differences of the rows of `v` `[V, D]`. Invalid edges (norm
 * `<= epsilon`) are exactly 0 and pass no gradient (the norm is replaced by 1 arithmetically
 * before dividing, so no 0/0 appears in the forward or the backward pass).
 */
export function unitDifferences(v: tf.Tensor2D, epsilon: number): AffinityEdges {
  const [n, d] = v.shape;
  const diff = tf.sub(tf.reshape(v, [n, 1, d]), tf.reshape(v, [1, n, d])) as tf.Tensor3D;
  const norms = safeSqrt(tf.sum(tf.square(diff), -1)) as tf.Tensor2D;
  const valid = noGrad((x) => tf.cast(tf.greater(x, epsilon), 'float32'), norms) as tf.Tensor2D;
  const safeNorms = tf.add(tf.mul(norms, valid), tf.sub(1, valid));
  const edges = tf.mul(
    tf.div(diff, tf.expandDims(safeNorms, -1)),
    tf.expandDims(valid, -1),
  ) as tf.Tensor3D;
  return { edges, norms, valid };
}
