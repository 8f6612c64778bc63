import * as tf from '@tensorflow/tfjs-core';

/**
 * Smallest product of squared norms fed to `rsqrt`. Only reached by invalid edges (their
 * weight is 0), it keeps `1/sqrt(.)` finite so `0 · x` never meets an Infinity.
 */
const TINY = 1e-30;

/** Which edges of the `[V, V]` graph are kept: an explicit 0/1 mask, or the strict upper triangle. */
export type KeepSpec = tf.Tensor2D | 'upper';

/** Result of one graph loss: the mean over kept valid edges and the number of those edges. */
export interface GraphLoss {
  loss: tf.Scalar;
  count: tf.Scalar;
}

/** Runs `fn`, then disposes `xs` (sequential evaluation keeps few `[V, V]` tensors alive). */
function then<T extends tf.Tensor>(fn: () => T, ...xs: tf.Tensor[]): T {
  const out = fn();
  tf.dispose(xs);
  return out;
}

/** `q [V, 1] = ‖a_m‖²` and `ns2 [V, V] = q_m + q_n − 2 a_m·a_n` (Gram identity). */
function sqDistances(a: tf.Tensor2D): { q: tf.Tensor2D; ns2: tf.Tensor2D } {
  const v = a.shape[0];
  const q = tf.sum(tf.square(a), 1, true) as tf.Tensor2D;
  const g = tf.matMul(a, a, false, true);
  const m2 = then(() => tf.mul(g, -2), g);
  const half = then(() => tf.add(m2, q), m2);
  const ns2 = then(() => tf.add(half, tf.reshape(q, [1, v])), half) as tf.Tensor2D;
  return { q, ns2 };
}

/** `dot [V, V] = (s_m − s_n)·(t_m − t_n) = x_m + x_n − s_m·t_n − s_n·t_m`, `x_m = s_m·t_m`. */
function crossDots(s: tf.Tensor2D, t: tf.Tensor2D): tf.Tensor2D {
  const v = s.shape[0];
  const x = tf.sum(tf.mul(s, t), 1, true);
  const st = tf.matMul(s, t, false, true);
  const stT = tf.transpose(st);
  const both = then(() => tf.add(st, stT), st, stT);
  const r1 = then(() => tf.sub(x, both), both);
  return then(() => tf.add(r1, tf.reshape(x, [1, v])), r1, x) as tf.Tensor2D;
}

/**
 * Edge weights `w [V, V]` (float 0/1): kept, and valid in both graphs, i.e.
 * `‖d‖² > max(epsilon², tolerance · (‖a‖² + ‖b‖²))` for student and teacher.
 */
function edgeWeights(
  ns2: tf.Tensor2D,
  nt2: tf.Tensor2D,
  qs: tf.Tensor2D,
  qt: tf.Tensor2D,
  keep: KeepSpec,
  eps2: number,
  tolerance: number,
): tf.Tensor2D {
  const v = ns2.shape[0];
  const validOne = (n2: tf.Tensor2D, q: tf.Tensor2D) =>
    tf.tidy(() =>
      tf.greater(n2, tf.maximum(tf.mul(tf.add(q, tf.reshape(q, [1, v])), tolerance), eps2)),
    );
  const vs = validOne(ns2, qs);
  const vt = validOne(nt2, qt);
  const valid = then(() => tf.logicalAnd(vs, vt), vs, vt);
  if (keep === 'upper') {
    const upper = tf.tidy(() =>
      tf.greater(tf.reshape(tf.range(0, v), [1, v]), tf.reshape(tf.range(0, v), [v, 1])),
    );
    const both = then(() => tf.logicalAnd(valid, upper), valid, upper);
    return then(() => tf.cast(both, 'float32'), both) as tf.Tensor2D;
  }
  const f = then(() => tf.cast(valid, 'float32'), valid);
  return then(() => tf.mul(f, keep), f) as tf.Tensor2D;
}

interface Stats {
  ns2: tf.Tensor2D;
  nt2: tf.Tensor2D;
  dot: tf.Tensor2D;
  w: tf.Tensor2D;
}

function stats(s: tf.Tensor2D, t: tf.Tensor2D, keep: KeepSpec, eps2: number, tol: number): Stats {
  const { q: qs, ns2 } = sqDistances(s);
  const { q: qt, nt2 } = (({ q, ns2: n }) => ({ q, nt2: n }))(sqDistances(t));
  const w = then(() => edgeWeights(ns2, nt2, qs, qt, keep, eps2, tol), qs, qt);
  const dot = crossDots(s, t);
  return { ns2, nt2, dot, w };
}

/** `r = 1 / sqrt(max(ns2 · nt2, TINY))`. */
function invNorms(ns2: tf.Tensor, nt2: tf.Tensor): tf.Tensor {
  const p = tf.mul(ns2, nt2);
  const c = then(() => tf.maximum(p, TINY), p);
  return then(() => tf.rsqrt(c), c);
}

/**
 * Exact per-graph VRM loss from Gram matrices, never materialising edges. `s`, `t` are the
 * vertex matrices `[V, D]` of the student and the (stop-gradient) teacher; `keep` is the REP
 * (and edge-level UEP) mask or `'upper'` (strict upper triangle, built on the fly). Per kept valid
 * edge the loss is `2 − 2 cos(d_s, d_t)` with `cos = dot / sqrt(ns2 · nt2)` clipped to [−1, 1].
 *
 * Implemented as ONE custom-gradient node over `s` (and `t`): the forward pass keeps only its
 * inputs, evaluates the `[V, V]` matrices one after the other (disposing as it goes) and
 * returns `[Σ w (2 − 2cos), Σ w]`; the backward pass recomputes them and returns
 * `∂L/∂s = 2 (diag(Gs 1) − Gs) s + (diag(Hs 1) − Hs) t` with `G = ∂L/∂ns2 = w cos / ns2`,
 * `H = ∂L/∂dot = −2 w / sqrt(ns2 nt2)` (0 where |cos| = 1 is clipped or w = 0),
 * `Gs = G + Gᵀ`, `Hs = H + Hᵀ`. The teacher gets a zero gradient. So the peak memory is a few
 * `[V, V]` tensors, and never `[V, V, D]`.
 */
export function gramGraphLoss(
  s: tf.Tensor2D,
  t: tf.Tensor2D,
  keep: KeepSpec,
  epsilon: number,
  tolerance: number,
): GraphLoss {
  const eps2 = epsilon * epsilon;
  const keepTensor = keep === 'upper' ? undefined : keep;
  const node = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const sIn = args[0] as tf.Tensor2D;
    const tIn = args[1] as tf.Tensor2D;
    const k: KeepSpec = keepTensor === undefined ? 'upper' : (args[2] as tf.Tensor2D);
    const save = args[keepTensor === undefined ? 2 : 3] as tf.GradSaveFunc;
    save(keepTensor === undefined ? [sIn, tIn] : [sIn, tIn, k as tf.Tensor2D]);
    const { ns2, nt2, dot, w } = stats(sIn, tIn, k, eps2, tolerance);
    const r = invNorms(ns2, nt2);
    tf.dispose([ns2, nt2]);
    const raw = then(() => tf.mul(dot, r), dot, r);
    const cos = then(() => tf.clipByValue(raw, -1, 1), raw);
    const wc = then(() => tf.mul(w, cos), cos);
    const sumCos = then(() => tf.sum(wc), wc);
    const count = tf.sum(w);
    w.dispose();
    const value = tf.tidy(() => tf.stack([tf.sub(tf.mul(count, 2), tf.mul(sumCos, 2)), count]));
    tf.dispose([sumCos, count]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s0, t0] = saved as [tf.Tensor2D, tf.Tensor2D];
        const k0: KeepSpec = keepTensor === undefined ? 'upper' : (saved[2] as tf.Tensor2D);
        const dy0 = tf.slice(dy, [0], [1]);
        const st = stats(s0, t0, k0, eps2, tolerance);
        const rr = invNorms(st.ns2, st.nt2);
        st.nt2.dispose();
        const rawB = then(() => tf.mul(st.dot, rr), st.dot);
        const m = tf.tidy(() =>
          tf.mul(
            tf.mul(st.w, tf.cast(tf.logicalAnd(tf.greater(rawB, -1), tf.less(rawB, 1)), 'float32')),
            dy0,
          ),
        );
        st.w.dispose();
        const safeNs2 = tf.tidy(() => {
          const valid = tf.cast(tf.notEqual(m, 0), 'float32');
          return tf.add(tf.mul(st.ns2, valid), tf.sub(1, valid));
        });
        st.ns2.dispose();
        const g = tf.tidy(() => tf.div(tf.mul(m, rawB), safeNs2));
        tf.dispose([safeNs2, rawB]);
        const h = tf.tidy(() => tf.mul(tf.mul(m, rr), -2));
        tf.dispose([m, rr, dy0]);
        // ∂L/∂s = 2 (diag(Gs 1) − Gs) s + (diag(Hs 1) − Hs) t
        const apply = (x: tf.Tensor2D, y: tf.Tensor2D, scale: number) => {
          const sym = tf.tidy(() => tf.add(x, tf.transpose(x)));
          x.dispose();
          const out = tf.tidy(() =>
            tf.mul(tf.sub(tf.mul(tf.sum(sym, 1, true), y), tf.matMul(sym, y)), scale),
          );
          sym.dispose();
          return out;
        };
        const gradS = apply(g as tf.Tensor2D, s0, 2);
        const gradH = apply(h as tf.Tensor2D, t0, 1);
        const ds = then(() => tf.add(gradS, gradH), gradS, gradH);
        const grads = [ds, tf.zerosLike(t0)];
        if (keepTensor !== undefined) grads.push(tf.zerosLike(keepTensor));
        return grads;
      },
    };
  });
  const out = keepTensor === undefined ? node(s, t) : node(s, t, keepTensor);
  const total = tf.slice(out, [0], [1]);
  // The count is piecewise constant: its gradient path is cut (the node ignores dy[1]).
  const count = tf.reshape(tf.slice(out, [1], [1]), []) as tf.Scalar;
  return {
    loss: tf.reshape(tf.div(total, tf.maximum(count, 1)), []) as tf.Scalar,
    count,
  };
}
