import type * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from '../wasm/wasmHeap';
import { hostOutput, hostValues } from './hostMemory';

/**
 * Name of the fused virtual-view kernel that `@relkd/affinity-graph`'s `virtualView` runs when
 * the active backend has it (cpu and wasm, registered by `useBackend`); elsewhere it composes
 * tfjs ops. Inputs `{ x: [B, H, W, Ch] float32 (NHWC), plan: [numOps, B, 8] float32 }`, attrs
 * `{ lo, hi, fill, nearest }`; output `[B, H, W, Ch]` float32.
 *
 * Plan row `[a0, a1, a2, b0, b1, b2, op, p]` for slot k and image i: the output-to-input affine
 * map of the slot's geometric op (output pixel `(x, y)` reads input `(a0 x + a1 y + a2,
 * b0 x + b1 y + b2)`; the identity for photometric ops), then a photometric op code
 * (see {@link VIEW_OP_CODES}) and its parameter.
 */
export const VIRTUAL_VIEW_KERNEL = 'RelkdVirtualView';

/** Photometric op codes of a virtual-view plan row (`0`: none). */
export const VIEW_OP_CODES = Object.freeze({
  none: 0,
  brightness: 1,
  contrast: 2,
  solarize: 3,
  posterize: 4,
});

/** Entries per plan row. */
export const VIEW_PLAN_WIDTH = 8;

const f = Math.fround;

/** Round half to even, like tfjs' `round`. */
function roundHalfEven(v: number): number {
  const base = Math.floor(v);
  const d = v - base;
  if (d < 0.5) return base;
  if (d > 0.5) return base + 1;
  return base % 2 === 0 ? base : base + 1;
}

/**
 * Renders virtual views on host memory: `src` and `dst` are `[B, H, W, Ch]` float32 (they may not
 * alias), `plan` is `[numOps, B, 8]` (see {@link VIRTUAL_VIEW_KERNEL}). Every arithmetic step is
 * rounded to float32 in the order the composite tfjs path of `virtualView` computes it, so both
 * paths agree bit for bit (tested). `contrast`'s grey level and per-image mean are summed the
 * way the backend's `Sum` / `Mean` kernels sum (`sumFloat32`: in float32, dividing last, as
 * tfjs-backend-wasm 4.22 does; otherwise each term divided by the count, then summed in float64,
 * as tfjs-backend-cpu 4.22 does). Exported for tests.
 */
export function renderVirtualView(
  src: ArrayLike<number>,
  dst: Float32Array,
  shape: readonly [number, number, number, number],
  plan: ArrayLike<number>,
  numOps: number,
  attrs: { lo: number; hi: number; fill: number; nearest: boolean; sumFloat32: boolean },
): void {
  const [b, h, w, ch] = shape;
  const lo = f(attrs.lo);
  const hi = f(attrs.hi);
  const fill = f(attrs.fill);
  const loPlusHi = f(attrs.lo + attrs.hi);
  const range = f(attrs.hi - attrs.lo);
  const img = h * w * ch;
  const cur = new Float32Array(img);
  const tmp = new Float32Array(img);
  const at = (im: Float32Array, iy: number, ix: number, c: number): number =>
    ix >= 0 && ix <= w - 1 && iy >= 0 && iy <= h - 1
      ? (im[(iy * w + ix) * ch + c] as number)
      : fill;
  for (let i = 0; i < b; i++) {
    for (let e = 0; e < img; e++) {
      const v = src[i * img + e] as number;
      cur[e] = v < lo ? lo : v > hi ? hi : v;
    }
    for (let k = 0; k < numOps; k++) {
      const r = (k * b + i) * VIEW_PLAN_WIDTH;
      const a0 = f(plan[r] as number);
      const a1 = f(plan[r + 1] as number);
      const a2 = f(plan[r + 2] as number);
      const b0 = f(plan[r + 3] as number);
      const b1 = f(plan[r + 4] as number);
      const b2 = f(plan[r + 5] as number);
      const identity = a0 === 1 && a1 === 0 && a2 === 0 && b0 === 0 && b1 === 1 && b2 === 0;
      if (!identity) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const inX = f(f(f(a0 * x) + f(a1 * y)) + a2);
            const inY = f(f(f(b0 * x) + f(b1 * y)) + b2);
            const o = (y * w + x) * ch;
            if (attrs.nearest) {
              const ix = roundHalfEven(inX);
              const iy = roundHalfEven(inY);
              for (let c = 0; c < ch; c++) tmp[o + c] = at(cur, iy, ix, c);
            } else {
              const x0 = Math.floor(inX);
              const y0 = Math.floor(inY);
              const wx = f(inX - x0);
              const wy = f(inY - y0);
              const ux = f(1 - wx);
              const uy = f(1 - wy);
              for (let c = 0; c < ch; c++) {
                const top = f(f(at(cur, y0, x0, c) * ux) + f(at(cur, y0, x0 + 1, c) * wx));
                const bottom = f(
                  f(at(cur, y0 + 1, x0, c) * ux) + f(at(cur, y0 + 1, x0 + 1, c) * wx),
                );
                tmp[o + c] = f(f(top * uy) + f(bottom * wy));
              }
            }
          }
        }
        cur.set(tmp);
      }
      const op = plan[r + 6] as number;
      const p = f(plan[r + 7] as number);
      if (op === VIEW_OP_CODES.brightness) {
        for (let e = 0; e < img; e++) {
          const v = f(f(f((cur[e] as number) - lo) * p) + lo);
          cur[e] = v < lo ? lo : v > hi ? hi : v;
        }
      } else if (op === VIEW_OP_CODES.contrast) {
        // The grey level and its spatial mean, summed the way the backend's Sum / Mean kernels
        // sum: wasm accumulates in float32 and divides last; cpu divides each term by the count
        // first (Mean) and accumulates in float64 (Sum).
        const n = h * w;
        let sum = 0;
        for (let px = 0; px < n; px++) {
          const o = px * ch;
          let grey = 0;
          if (ch === 3) {
            const r = f((cur[o] as number) * f(0.299));
            const g = f((cur[o + 1] as number) * f(0.587));
            const bl = f((cur[o + 2] as number) * f(0.114));
            grey = attrs.sumFloat32 ? f(f(r + g) + bl) : f(r + g + bl);
          } else if (attrs.sumFloat32) {
            for (let c = 0; c < ch; c++) grey = f(grey + (cur[o + c] as number));
            grey = f(grey / ch);
          } else {
            for (let c = 0; c < ch; c++) grey += f((cur[o + c] as number) / ch);
            grey = f(grey);
          }
          sum = attrs.sumFloat32 ? f(sum + grey) : sum + f(grey / n);
        }
        const m = attrs.sumFloat32 ? f(sum / n) : f(sum);
        for (let e = 0; e < img; e++) {
          const v = f(f(f((cur[e] as number) - m) * p) + m);
          cur[e] = v < lo ? lo : v > hi ? hi : v;
        }
      } else if (op === VIEW_OP_CODES.solarize) {
        for (let e = 0; e < img; e++) {
          const v = cur[e] as number;
          if (v > p) cur[e] = f(v + f(loPlusHi - f(v * 2)));
        }
      } else if (op === VIEW_OP_CODES.posterize) {
        for (let e = 0; e < img; e++) {
          const u8 = roundHalfEven(f(f(f((cur[e] as number) - lo) / range) * 255));
          const q = f(Math.floor(f(u8 / p)) * p);
          cur[e] = f(f(f(q / 255) * range) + lo);
        }
      }
    }
    const out = i * img;
    for (let e = 0; e < img; e++) {
      const v = cur[e] as number;
      dst[out + e] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}

/** The fused virtual-view kernel for the cpu and wasm backends (see {@link VIRTUAL_VIEW_KERNEL}). */
export const virtualViewKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, plan } = inputs as { x: tf.TensorInfo; plan: tf.TensorInfo };
  const { lo, hi, fill, nearest } = attrs as unknown as {
    lo: number;
    hi: number;
    fill: number;
    nearest: boolean;
  };
  const shape = x.shape as [number, number, number, number];
  const be = backend as tf.KernelBackend;
  // contrast's means are summed as this backend's own Sum / Mean kernels sum (see above).
  const sumFloat32 = typeof (backend as Partial<WasmHeapBackend>).typedArrayFromHeap === 'function';
  return hostOutput(be, shape.slice(), (out) =>
    // Input views are taken here, after the output exists: allocating it may move the wasm heap.
    renderVirtualView(
      hostValues(be, x),
      out,
      shape,
      hostValues(be, plan),
      plan.shape[0] as number,
      {
        lo,
        hi,
        fill,
        nearest,
        sumFloat32,
      },
    ),
  );
};
