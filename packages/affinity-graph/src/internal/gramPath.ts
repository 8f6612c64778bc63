import { zScore } from '@relkd/core';
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
 * Forward sums of one graph: `[Σ w (2 − 2cos), Σ w]` (a `[2]` tensor). Evaluates the `[V, V]`
 * matrices one after the other, disposing as it goes; nothing but the result stays alive.
 */
export function gramSums(
  s: tf.Tensor2D,
  t: tf.Tensor2D,
  keep: KeepSpec,
  eps2: number,
  tolerance: number,
): tf.Tensor1D {
  const { ns2, nt2, dot, w } = stats(s, t, keep, eps2, tolerance);
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
  return value as tf.Tensor1D;
}

/**
 * Backward of {@link gramSums} with respect to `s`, for the upstream gradient `dy0` (`[1]`) of
 * the first sum (the count is piecewise constant and gets none):
 * `∂L/∂s = 2 (diag(Gs 1) − Gs) s + (diag(Hs 1) − Hs) t` with `G = ∂L/∂ns2 = w cos / ns2`,
 * `H = ∂L/∂dot = −2 w / sqrt(ns2 nt2)` (0 where |cos| = 1 is clipped or w = 0),
 * `Gs = G + Gᵀ`, `Hs = H + Hᵀ`. Recomputes the `[V, V]` matrices, disposing as it goes.
 */
export function gramGradS(
  s0: tf.Tensor2D,
  t0: tf.Tensor2D,
  k0: KeepSpec,
  dy0: tf.Tensor,
  eps2: number,
  tolerance: number,
): tf.Tensor2D {
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
  tf.dispose([m, rr]);
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
  return then(() => tf.add(gradS, gradH), gradS, gradH) as tf.Tensor2D;
}

/** `sums [2]` of one graph to its mean over kept valid edges: `sums[0] / max(sums[1], 1)`. */
function toGraphLoss(out: tf.Tensor, offset: number): GraphLoss {
  const total = tf.slice(out, [offset], [1]);
  // The count is piecewise constant: its gradient path is cut (the node ignores its dy).
  const count = tf.reshape(tf.slice(out, [offset + 1], [1]), []) as tf.Scalar;
  return {
    loss: tf.reshape(tf.div(total, tf.maximum(count, 1)), []) as tf.Scalar,
    count,
  };
}

/**
 * Exact per-graph VRM loss from Gram matrices, never materialising edges. `s`, `t` are the
 * vertex matrices `[V, D]` of the student and the (stop-gradient) teacher; `keep` is the REP
 * (and edge-level UEP) mask or `'upper'` (strict upper triangle, built on the fly). Per kept valid
 * edge the loss is `2 − 2 cos(d_s, d_t)` with `cos = dot / sqrt(ns2 · nt2)` clipped to [−1, 1].
 *
 * Implemented as ONE custom-gradient node over `s` (and `t`): the forward pass keeps only its
 * inputs ({@link gramSums}); the backward pass recomputes the `[V, V]` matrices
 * ({@link gramGradS}). The teacher gets a zero gradient. So the peak memory is a few
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
    const value = gramSums(sIn, tIn, k, eps2, tolerance);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s0, t0] = saved as [tf.Tensor2D, tf.Tensor2D];
        const k0: KeepSpec = keepTensor === undefined ? 'upper' : (saved[2] as tf.Tensor2D);
        const dy0 = tf.slice(dy, [0], [1]);
        const ds = gramGradS(s0, t0, k0, dy0, eps2, tolerance);
        dy0.dispose();
        const grads = [ds, tf.zerosLike(t0)];
        if (keepTensor !== undefined) grads.push(tf.zerosLike(keepTensor));
        return grads;
      },
    };
  });
  const out = keepTensor === undefined ? node(s, t) : node(s, t, keepTensor);
  return toGraphLoss(out, 0);
}

/**
 * Closed-form vjp of `zScore(concat([a, b]), { epsilon })` (rows over the last axis, core's
 * formula `y = c / (safeSqrt(mean(c²)) + epsilon)`, `c = x − mean(x)`) for the upstream `g`:
 * `∂c = g / den + (2c / D) · ∂v`, `∂v = −Σ(g·c) / den² · [σ > 0] / (2σ)`, `∂x = ∂c − mean(∂c)`.
 * Only `[2B, C]` tensors and per-row columns.
 */
function zScoreBackward(a: tf.Tensor2D, b: tf.Tensor2D, g: tf.Tensor2D, epsilon: number) {
  return tf.tidy(() => {
    const x = tf.concat([a, b]);
    const d = x.shape[1] as number;
    const c = tf.sub(x, tf.mean(x, 1, true));
    const sigma = tf.sqrt(tf.relu(tf.mean(tf.square(c), 1, true)));
    const den = tf.add(sigma, epsilon);
    const dDen = tf.neg(tf.div(tf.sum(tf.mul(g, c), 1, true), tf.square(den)));
    const positive = tf.greater(sigma, 0);
    const dV = tf.where(
      positive,
      tf.div(dDen, tf.mul(tf.where(positive, sigma, tf.onesLike(sigma)), 2)),
      tf.zerosLike(dDen),
    );
    const dc = tf.add(tf.div(g, den), tf.mul(c, tf.mul(dV, 2 / d)));
    return tf.sub(dc, tf.mean(dc, 1, true)) as tf.Tensor2D;
  });
}

/** Options of {@link fusedGramVrm}. */
export interface FusedGramOptions {
  zsNorm: boolean;
  zsEpsilon: number;
  /** Builds the `[2B, 2B]` REP mask of the inter-sample graph (a constant). */
  isKeep: () => tf.Tensor2D;
  epsilon: number;
  tolerance: number;
}

/**
 * The whole default-path VRM loss (no UEP) as ONE custom-gradient node over the four `[B, C]`
 * inputs: concat by view → z-score rows → inter-sample Gram graph on `Ys` → inter-class Gram
 * graph on `Ysᵀ`. The forward pass keeps only the four inputs (nothing else stays alive for
 * autodiff), evaluates the IS graph, disposes it, then the IC graph; the backward pass
 * recomputes `Ys`, `Yt`, runs {@link gramGradS} for each graph in turn and pulls `∂L/∂Ys`
 * back through concat + z-score with a small recomputed vjp (core's `zScore` gradients,
 * `[2B, C]` tensors only). The teacher gets exactly zero gradient. Returns `{ is, ic }`.
 */
export function fusedGramVrm(
  ss: tf.Tensor2D,
  sv: tf.Tensor2D,
  ts: tf.Tensor2D,
  tv: tf.Tensor2D,
  o: FusedGramOptions,
): { is: GraphLoss; ic: GraphLoss } {
  const eps2 = o.epsilon * o.epsilon;
  const norm = (a: tf.Tensor2D, b: tf.Tensor2D) =>
    tf.tidy(() => {
      const y = tf.concat([a, b]) as tf.Tensor2D;
      return o.zsNorm ? zScore(y, { epsilon: o.zsEpsilon }) : y;
    });
  const transposed = (y: tf.Tensor2D) => then(() => tf.transpose(y) as tf.Tensor2D, y);
  const node = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, c, d] = args as tf.Tensor2D[];
    const save = args[4] as tf.GradSaveFunc;
    save([a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor2D]);
    const ys = norm(a as tf.Tensor2D, b as tf.Tensor2D);
    const yt = norm(c as tf.Tensor2D, d as tf.Tensor2D);
    const keep = o.isKeep();
    const isSums = then(() => gramSums(ys, yt, keep, eps2, o.tolerance), keep);
    const ysT = transposed(ys);
    const ytT = transposed(yt);
    const icSums = then(() => gramSums(ysT, ytT, 'upper', eps2, o.tolerance), ysT, ytT);
    const value = then(() => tf.concat([isSums, icSums]), isSums, icSums);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s0, v0, t0, u0] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const ys0 = norm(s0, v0);
        const yt0 = norm(t0, u0);
        const keep0 = o.isKeep();
        const dyIs = tf.slice(dy, [0], [1]);
        const gIs = then(() => gramGradS(ys0, yt0, keep0, dyIs, eps2, o.tolerance), keep0, dyIs);
        const ysT0 = transposed(ys0);
        const ytT0 = transposed(yt0);
        const dyIc = tf.slice(dy, [2], [1]);
        const gIcT = then(
          () => gramGradS(ysT0, ytT0, 'upper', dyIc, eps2, o.tolerance),
          ysT0,
          ytT0,
          dyIc,
        );
        const gIc = transposed(gIcT);
        const dYs = then(() => tf.add(gIs, gIc) as tf.Tensor2D, gIs, gIc);
        const dRaw = o.zsNorm ? then(() => zScoreBackward(s0, v0, dYs, o.zsEpsilon), dYs) : dYs;
        const b = s0.shape[0];
        const ds = tf.slice(dRaw, [0, 0], [b, -1]);
        const dv = then(() => tf.slice(dRaw, [b, 0], [b, -1]), dRaw);
        return [ds as tf.Tensor, dv as tf.Tensor, tf.zerosLike(t0), tf.zerosLike(u0)];
      },
    };
  });
  const out = node(ss, sv, ts, tv);
  return { is: toGraphLoss(out, 0), ic: toGraphLoss(out, 2) };
}
