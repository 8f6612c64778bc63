import * as tf from '@tensorflow/tfjs-core';
import { sumColumns } from './sumColumns';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `Mean` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`. Upstream moves the
 * reduced axes innermost with a `Transpose` of the whole tensor, then, for each output, adds the
 * reduced values in float32 one after the other from 0 and divides the sum by their count. When
 * the reduced axes are consecutive, given in ascending order and followed by at least one kept axis
 * (BatchNorm's moments over `[0, 1, 2]` of NHWC, `[N, H, W, C] -> [C]`; a global average pool over
 * `[1, 2]`, `-> [N, C]`), this kernel views the input as `[outer, reduced, inner]` and does the
 * same additions in the same order straight from the input ({@link sumColumns}), then the same
 * division: the same bits, no transposed copy. Every other case (other dtypes, reduction over the last axis, which upstream does without a transpose, axes
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
      sumColumns(v, b * reduced * inner, reduced, inner, o, b * inner);
    // Then upstream's `sum / reduce_size`: the float32 quotient of the float32 sum.
    for (let i = 0; i < o.length; i++) o[i] = (o[i] as number) / reduced;
    return out;
  };
}
