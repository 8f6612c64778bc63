import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

const f32 = Math.fround;

/**
 * `Mean` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`. Upstream moves the
 * reduced axes innermost with a `Transpose` of the whole tensor, then, for each output, adds the
 * reduced values in float32 one after the other from 0 and divides the sum by their count. When
 * the reduced axes are consecutive, given in ascending order and followed by at least one kept axis
 * (BatchNorm's moments over `[0, 1, 2]` of NHWC, `[N, H, W, C] -> [C]`; a global average pool over
 * `[1, 2]`, `-> [N, C]`), this kernel views the input as `[outer, reduced, inner]` and does the same
 * additions in the same order straight from the input (eight outputs at a time, float32
 * accumulators in locals), then the same division: the same bits, no transposed copy. Every other
 * case (other dtypes, reduction over the last axis, which upstream does without a transpose, axes
 * in another order) runs `original`.
 *
 * Shapes: `x` float32 of rank ≥ 2; output `[outer..., inner...]` (or with the reduced axes kept as
 * 1 when `keepDims`).
 */
export function meanKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2) return original(args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const first = axes[0] as number;
    const last = axes[axes.length - 1] as number;
    // Consecutive and ascending as given (upstream's transpose keeps the given order), not ending
    // at the last axis.
    if (axes.some((a, i) => a !== first + i) || last >= rank - 1) return original(args);
    const dims = x.shape as number[];
    const size = (from: number, to: number) => tf.util.sizeFromShape(dims.slice(from, to));
    const outer = size(0, first);
    const reduced = size(first, last + 1);
    const inner = size(last + 1, rank);
    if (outer * reduced * inner === 0) return original(args);
    const outShape = dims.map((d, i) => (i >= first && i <= last ? 1 : d));
    const be = args.backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(
      keepDims ? outShape : outShape.filter((_, i) => i < first || i > last),
      'float32',
    );
    // Views after the allocation (the heap may have grown and moved).
    const v = be.typedArrayFromHeap(x) as Float32Array;
    const o = be.typedArrayFromHeap(out) as Float32Array;
    for (let b = 0; b < outer; b++)
      meanOverRows(v, b * reduced * inner, reduced, inner, o, b * inner);
    return out;
  };
}

/**
 * `o[oBase + k] = (Σ_r v[vBase + r·c + k]) / n` for k < c, r ascending from 0 to n − 1, float32
 * rounding after every addition and after the division (upstream's `sum / reduce_size`).
 */
function meanOverRows(
  v: Float32Array,
  vBase: number,
  n: number,
  c: number,
  o: Float32Array,
  oBase: number,
): void {
  const end = vBase + n * c;
  let k0 = 0;
  for (; k0 + 8 <= c; k0 += 8) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let a6 = 0;
    let a7 = 0;
    for (let i = vBase + k0; i < end; i += c) {
      a0 = f32(a0 + (v[i] as number));
      a1 = f32(a1 + (v[i + 1] as number));
      a2 = f32(a2 + (v[i + 2] as number));
      a3 = f32(a3 + (v[i + 3] as number));
      a4 = f32(a4 + (v[i + 4] as number));
      a5 = f32(a5 + (v[i + 5] as number));
      a6 = f32(a6 + (v[i + 6] as number));
      a7 = f32(a7 + (v[i + 7] as number));
    }
    const p = oBase + k0;
    o[p] = a0 / n;
    o[p + 1] = a1 / n;
    o[p + 2] = a2 / n;
    o[p + 3] = a3 / n;
    o[p + 4] = a4 / n;
    o[p + 5] = a5 / n;
    o[p + 6] = a6 / n;
    o[p + 7] = a7 / n;
  }
  for (let k = k0; k < c; k++) {
    let a = 0;
    for (let i = vBase + k; i < end; i += c) a = f32(a + (v[i] as number));
    o[oBase + k] = a / n;
  }
}
