import * as tf from '@tensorflow/tfjs-core';
import { noGradN } from './noGrad';

/**
 * Smallest product of squared norms fed to `rsqrt`. Only reached by invalid edges (their
 * weight is 0), it keeps `1/sqrt(.)` finite so `0 · x` never meets an Infinity.
 */
const TINY = 1e-30;

/**
 * Per-edge sum `Σ_k w_k (2 − 2 cos_k)` with `cos = dot / sqrt(ns2 · nt2)` clipped to [−1, 1],
 * as ONE custom-gradient node: only its four `[V, V]` inputs are kept for the backward pass (the
 * forward temporaries are released at once), which keeps the peak memory of the Gram path low.
 * Gradient (edges with w = 1 and |cos| < 1): `∂/∂dot = −2w / sqrt(ns2·nt2)`,
 * `∂/∂ns2 = w · cos / ns2`, `∂/∂nt2 = w · cos / nt2`; zero elsewhere. `w` gets no gradient.
 */
const edgeLossSum = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [ns2, nt2, dot, w] = args as tf.Tensor[];
  const save = args[4] as tf.GradSaveFunc;
  save([ns2!, nt2!, dot!, w!]);
  const value = tf.tidy(() => {
    const cos = cosine(ns2!, nt2!, dot!);
    return tf.sum(tf.mul(tf.sub(2, tf.mul(cos, 2)), w!));
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [s2, t2, d, m] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.tidy(() => {
        const r = tf.rsqrt(tf.maximum(tf.mul(s2, t2), TINY));
        const raw = tf.mul(d, r);
        const inside = tf.cast(tf.logicalAnd(tf.greater(raw, -1), tf.less(raw, 1)), 'float32');
        const g = tf.mul(tf.mul(m, inside), dy);
        const cos = tf.clipByValue(raw, -1, 1);
        const safe = (x: tf.Tensor) => tf.add(tf.mul(x, m), tf.sub(1, m));
        return [
          tf.div(tf.mul(g, cos), safe(s2)),
          tf.div(tf.mul(g, cos), safe(t2)),
          tf.mul(tf.mul(g, r), -2),
          tf.zerosLike(m),
        ];
      });
    },
  };
});

function cosine(ns2: tf.Tensor, nt2: tf.Tensor, dot: tf.Tensor): tf.Tensor {
  return tf.clipByValue(tf.mul(dot, tf.rsqrt(tf.maximum(tf.mul(ns2, nt2), TINY))), -1, 1);
}

/**
 * Squared norms of all pairwise differences of the rows of `v` `[V, D]`, from ONE matmul of
 * augmented matrices: `‖v_m − v_n‖² = [v_m, ‖v_m‖², 1] · [−2 v_n, 1, ‖v_n‖²]`.
 * Returns `[ns2 [V, V], sq [V]]`.
 */
function pairwiseSq(v: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const n = v.shape[0];
  const sq = tf.sum(tf.square(v), 1, true) as tf.Tensor2D;
  const one = tf.ones([n, 1]);
  const left = tf.concat([v, sq, one], 1) as tf.Tensor2D;
  const right = tf.concat([tf.mul(v, -2), one, sq], 1) as tf.Tensor2D;
  return [tf.matMul(left, right, false, true), sq];
}

/**
 * `(s_m − s_n) · (t_m − t_n)` for all pairs from ONE matmul:
 * `[s_m, t_m, s_m·t_m, 1] · [−t_n, −s_n, 1, s_n·t_n]`.
 */
function pairwiseCrossDot(s: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  const n = s.shape[0];
  const x = tf.sum(tf.mul(s, t), 1, true);
  const one = tf.ones([n, 1]);
  const left = tf.concat([s, t, x, one], 1) as tf.Tensor2D;
  const right = tf.concat([tf.neg(t), tf.neg(s), one, x], 1) as tf.Tensor2D;
  return tf.matMul(left, right, false, true);
}

/** Result of one graph loss: the mean over kept valid edges and the number of those edges. */
export interface GraphLoss {
  loss: tf.Scalar;
  count: tf.Scalar;
}

/**
 * Exact per-graph VRM loss from Gram matrices, never materialising edges. `s`, `t` are the
 * vertex matrices `[V, D]` of the student and the (stop-gradient) teacher; `keep` `[V, V]` is the
 * REP (and edge-level UEP) mask. An edge is valid when its squared norm exceeds
 * `max(epsilon², tolerance · (‖a‖² + ‖b‖²))` in both graphs (the second term is the float32
 * noise floor of the Gram identity; `tolerance = 0` gives the plain rule).
 * Memory: a handful of `[V, V]` tensors.
 */
export function gramGraphLoss(
  s: tf.Tensor2D,
  t: tf.Tensor2D,
  keep: tf.Tensor2D,
  epsilon: number,
  tolerance: number,
): GraphLoss {
  const [ns2, sqS] = pairwiseSq(s);
  const [nt2, sqT] = pairwiseSq(t);
  const dot = pairwiseCrossDot(s, t);
  const v = s.shape[0];
  const eps2 = epsilon * epsilon;
  const w = noGradN(
    (a, b, qa, qb, k) => {
      const floor = (q: tf.Tensor) =>
        tf.maximum(tf.mul(tf.add(q, tf.reshape(q, [1, v])), tolerance), eps2);
      const ok = tf.logicalAnd(tf.greater(a!, floor(qa!)), tf.greater(b!, floor(qb!)));
      return tf.mul(tf.cast(ok, 'float32'), k!);
    },
    [ns2, nt2, sqS, sqT, keep],
  );
  const count = tf.sum(w) as tf.Scalar;
  const total = edgeLossSum(ns2, nt2, dot, w) as tf.Scalar;
  return { loss: tf.div(total, tf.maximum(count, 1)) as tf.Scalar, count };
}
