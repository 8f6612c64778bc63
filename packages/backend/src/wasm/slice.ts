import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `Slice` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`, which first reads
 * its whole input through `readSync` (a fresh copy of the entire tensor) and then copies the
 * slice out of that copy: evaluating in batches of 500 rows of a `[10 000, 28, 28, 1]` test set
 * copied the whole 31 MB set twenty times (≈ 1.5 s, more than the forward passes themselves).
 * Here the slice is copied straight from a view of the input's heap memory: one `TypedArray.set`
 * per run of contiguous values (the whole slice when it is contiguous), a short loop for runs of
 * under 16 values. A copy, so the values are the input's bits. Same semantics and checks
 * (`begin`/`size` as tfjs parses them, `-1` sizes); string tensors keep the original.
 *
 * @example
 * ```ts
 * const batch = tf.slice(testImages, 500, 500); // rows 500..999, no copy of the whole set
 * ```
 */
export function sliceKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args);
    const { begin, size } = args.attrs as unknown as { begin: number[]; size: number[] };
    const be = args.backend as unknown as WasmHeapBackend;
    const [begin_, size_] = tf.slice_util.parseSliceParams(
      x as tf.TensorInfo as tf.Tensor,
      begin,
      size,
    ) as [number[], number[]];
    tf.slice_util.assertParamsValid(x as tf.TensorInfo as tf.Tensor, begin_, size_);
    const out = be.makeOutput(size_, x.dtype);
    const count = tf.util.sizeFromShape(size_);
    if (count === 0) return out;
    // Views after the allocation (the heap may have grown and moved).
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, begin_, size_)) {
      const from = tf.slice_util.computeFlatOffset(begin_, strides);
      dst.set(src.subarray(from, from + count));
      return out;
    }
    copyRuns(src, dst, x.shape.length, strides, begin_, size_);
    return out;
  };
}

/**
 * Copies a non-contiguous slice run by run: a run is `size[rank − 1]` consecutive values; an
 * odometer over the outer axes gives each run's offset in `src`.
 */
function copyRuns(
  src: tf.backend_util.TypedArray,
  dst: tf.backend_util.TypedArray,
  rank: number,
  strides: number[],
  begin: number[],
  size: number[],
): void {
  const run = size[rank - 1] as number;
  const outer = rank - 1;
  const index = new Array<number>(outer).fill(0);
  let base = begin[rank - 1] as number;
  for (let d = 0; d < outer; d++) base += (begin[d] as number) * (strides[d] as number);
  const runs = tf.util.sizeFromShape(size) / run;
  let o = 0;
  let from = base;
  for (let r = 0; r < runs; r++) {
    if (run >= 16) {
      dst.set(src.subarray(from, from + run), o);
    } else {
      for (let k = 0; k < run; k++) dst[o + k] = src[from + k] as number;
    }
    o += run;
    // Next run: advance the odometer over the outer axes (last outer axis fastest).
    for (let d = outer - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      from += strides[d] as number;
      if ((index[d] as number) < (size[d] as number)) break;
      from -= (size[d] as number) * (strides[d] as number);
      index[d] = 0;
    }
  }
}
