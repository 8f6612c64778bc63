import { withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphLoss } from './gramPath';
import { unitDifferences } from './unitDifferences';

/**
 * Per-graph VRM loss from materialised edges (`[V, V, D]` for student and teacher):
 * `Σ_k w_k Σ_c M_kc (E^s_k[c] − E^t_k[c])² / max(Σ_k w_k, 1)` with `w = valid^s · valid^t · keep`
 * and `M` the elementwise clip mask (`|E^s − E^t| <= delta`) or 1. Validity per network:
 * `‖d‖² > max(epsilon², tolerance · (‖a‖² + ‖b‖²))`, the Gram path's rule.
 */
export function directGraphLoss(
  s: tf.Tensor2D,
  t: tf.Tensor2D,
  keep: tf.Tensor2D,
  epsilon: number,
  clipDelta: number | undefined,
  tolerance = 0,
): GraphLoss {
  const es = unitDifferences(s, epsilon, tolerance);
  const et = unitDifferences(t, epsilon, tolerance);
  const w = tf.mul(tf.mul(es.valid, et.valid), keep);
  const sqDiff = tf.square(tf.sub(es.edges, et.edges));
  const masked =
    clipDelta === undefined
      ? sqDiff
      : tf.mul(
          sqDiff,
          withoutGradient([es.edges, et.edges], (a, b) =>
            tf.cast(tf.lessEqual(tf.abs(tf.sub(a!, b!)), clipDelta), 'float32'),
          ),
        );
  const perEdge = tf.sum(masked, -1);
  const count = tf.sum(w) as tf.Scalar;
  const total = tf.sum(tf.mul(perEdge, w));
  return { loss: tf.div(total, tf.maximum(count, 1)) as tf.Scalar, count };
}
