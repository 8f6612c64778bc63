import * as tf from '@tensorflow/tfjs-core';
import { sumColumns } from './sumColumns';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * The float32 sums of a `Sum`/`Mean` kernel call done the way tfjs-backend-wasm 4.22 adds them,
 * without its transposed copy, when the reduction allows it; `undefined` otherwise (the caller
 * then runs upstream's kernel). Upstream moves the reduced axes innermost with a `Transpose` of
 * the whole tensor, then, for each output, adds the reduced values in float32 one after the other
 * from 0. When the reduced axes are consecutive, given in ascending order and followed by at
 * least one kept axis (the bias gradient and BatchNorm's moments over `[0, 1, 2]` of NHWC,
 * `[N, H, W, C] -> [C]`; a global pool over `[1, 2]`, `-> [N, C]`), the input is viewed as
 * `[outer, reduced, inner]` and the same additions run straight from it ({@link sumColumns}):
 * the same bits (an empty reduction gives zeros). Other dtypes, rank < 2, a reduction over the last axis (which
 * upstream does without a transpose) and axes in another order (`[2, 0, 1]` adds in another
 * order: other bits) give `undefined`.
 *
 * Shapes: `x` float32 of rank ≥ 2; output `[outer..., inner...]` (or with the reduced axes kept as
 * 1 when `keepDims`), and `reduced` the number of values added per output (`Mean` divides by it).
 */
export function columnSums(
  args: Parameters<tf.KernelFunc>[0],
): { out: tf.TensorInfo; reduced: number } | undefined {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as {
    axis: number | number[];
    keepDims: boolean;
  };
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 2) return undefined;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const first = axes[0] as number;
  const last = axes[axes.length - 1] as number;
  // Consecutive and ascending as given (upstream's transpose keeps the given order), not ending
  // at the last axis.
  if (axes.some((a, i) => a !== first + i) || last >= rank - 1) return undefined;
  const dims = x.shape as number[];
  const size = (from: number, to: number) => tf.util.sizeFromShape(dims.slice(from, to));
  const outer = size(0, first);
  const reduced = size(first, last + 1);
  const inner = size(last + 1, rank);
  const outShape = dims.map((d, i) => (i >= first && i <= last ? 1 : d));
  const be = args.backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(
    keepDims ? outShape : outShape.filter((_, i) => i < first || i > last),
    'float32',
  );
  // Views after the allocation (the heap may have grown and moved).
  const v = be.typedArrayFromHeap(x) as Float32Array;
  const o = be.typedArrayFromHeap(out) as Float32Array;
  for (let b = 0; b < outer; b++) sumColumns(v, b * reduced * inner, reduced, inner, o, b * inner);
  return { out, reduced };
}
