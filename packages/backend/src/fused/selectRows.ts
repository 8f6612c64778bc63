import type * as tf from '@tensorflow/tfjs-core';
import { hostOutput, hostValues } from './hostMemory';

/**
 * Name of the row-selection kernel that `@relkd/relation-network` runs for CORSD's pair batches
 * when the active backend has it (cpu and wasm, registered by `useBackend`); elsewhere it composes
 * a one-hot matrix product. Inputs `{ x: float32 [N, D], indices: int32 [K] }`, no attributes;
 * output float32 `[K, D]`, row `k` = row `indices[k]` of `x` plus `+0` (so `-0` becomes `+0`, as
 * in the product `oneHot(indices, N) · x`, whose accumulators start at `+0`); an index outside
 * `[0, N)` gives a row of `+0` (an all-zero one-hot row).
 */
export const SELECT_ROWS_KERNEL = 'RelkdSelectRows';

/**
 * Name of the gradient kernel of {@link SELECT_ROWS_KERNEL}: inputs `{ dy: float32 [K, D],
 * indices: int32 [K] }`, attribute `{ rows: N }`; output float32 `[N, D]`, row `n` = the sum of
 * the rows `dy[k]` with `indices[k] = n` (`+0` where there are none), added in exactly the order
 * and float32 rounding of the product `oneHot(indices, N)ᵀ · dy` on the same backend (see
 * {@link segmentSumSequential} and {@link segmentSumBlocked}), so the two are bit-identical for
 * finite `dy`.
 */
export const SELECT_ROWS_GRAD_KERNEL = 'RelkdSelectRowsGrad';

/**
 * `dst[k] = src[indices[k]] + 0` for `[K, width]` `dst` and `[rows, width]` `src`; rows of `+0`
 * where the index is outside `[0, rows)`. Adding `+0` turns `-0` into `+0` and leaves every other
 * value (`NaN` included) as it is. Exported for tests.
 */
export function copyRows(
  src: ArrayLike<number>,
  indices: ArrayLike<number>,
  rows: number,
  width: number,
  dst: Float32Array,
): void {
  const k = indices.length;
  for (let i = 0; i < k; i++) {
    const n = indices[i] as number;
    const o = i * width;
    if (n >= 0 && n < rows) {
      const s = n * width;
      for (let d = 0; d < width; d++) dst[o + d] = (src[s + d] as number) + 0;
    } else {
      dst.fill(0, o, o + width);
    }
  }
}

/**
 * The segment sum of the wasm backend's product `oneHot(indices, rows)ᵀ · dy` (tfjs-backend-wasm
 * 4.22: `BatchMatMul` is an XNNPACK GEMM; each output starts at `+0` and adds its `K` products
 * one after the other in float32, a multiply then an add, no FMA): `dst[n] = (((+0 + dy[k₁]) +
 * dy[k₂]) + …)` over the `k` with `indices[k] = n` in increasing order, every addition rounded to
 * float32 (a `Float32Array` store of the exact double sum is the correctly rounded float32 sum).
 * The products with the zeros of the one-hot matrix are `±0` and change no partial sum that
 * starts at `+0`. `dst` is `[rows, width]`; it is overwritten. Exported for tests.
 */
export function segmentSumSequential(
  dy: ArrayLike<number>,
  indices: ArrayLike<number>,
  rows: number,
  width: number,
  dst: Float32Array,
): void {
  dst.fill(0, 0, rows * width);
  const k = indices.length;
  for (let i = 0; i < k; i++) {
    const n = indices[i] as number;
    if (!(n >= 0 && n < rows)) continue;
    const o = n * width;
    const s = i * width;
    for (let d = 0; d < width; d++) dst[o + d] = (dst[o + d] as number) + (dy[s + d] as number);
  }
}

/**
 * The segment sum of the cpu backend's product `oneHot(indices, rows)ᵀ · dy` (tfjs-backend-cpu
 * 4.22's blocked `batchMatMul`): the shared axis `k` runs in blocks of `block` (the backend's
 * `blockSize`, 48); within a block the products are summed in float64 starting at `0.0`, in
 * increasing `k`, and the block's sum is added to the float32 output (`+=` on a `Float32Array`:
 * one float32 rounding per block). Blocks that select nothing add `+0` (no change). `dst` is
 * `[rows, width]`; it is overwritten. Exported for tests.
 */
export function segmentSumBlocked(
  dy: ArrayLike<number>,
  indices: ArrayLike<number>,
  rows: number,
  width: number,
  block: number,
  dst: Float32Array,
): void {
  dst.fill(0, 0, rows * width);
  const k = indices.length;
  // One float64 partial sum per (row, column); `touched` lists the rows a block selects.
  const acc = new Float64Array(rows * width);
  const touched = new Int32Array(rows).fill(-1);
  const list: number[] = [];
  for (let k0 = 0; k0 < k; k0 += block) {
    const k1 = Math.min(k0 + block, k);
    for (let i = k0; i < k1; i++) {
      const n = indices[i] as number;
      if (!(n >= 0 && n < rows)) continue;
      if (touched[n] !== k0) {
        touched[n] = k0;
        list.push(n);
      }
      const o = n * width;
      const s = i * width;
      for (let d = 0; d < width; d++) acc[o + d] = (acc[o + d] as number) + (dy[s + d] as number);
    }
    for (const n of list) {
      const o = n * width;
      for (let d = 0; d < width; d++) {
        dst[o + d] = (dst[o + d] as number) + (acc[o + d] as number);
        acc[o + d] = 0;
      }
    }
    list.length = 0;
  }
}

/** The `RelkdSelectRows` kernel (see {@link SELECT_ROWS_KERNEL}) on cpu and wasm. */
export const selectRowsKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const be = backend as tf.KernelBackend;
  const [rows, width] = x.shape as [number, number];
  const k = indices.shape[0] as number;
  return hostOutput(be, [k, width], (out) => {
    copyRows(hostValues(be, x), hostValues(be, indices), rows, width, out);
  });
};

/** The `RelkdSelectRowsGrad` kernel (see {@link SELECT_ROWS_GRAD_KERNEL}) on cpu and wasm. */
export const selectRowsGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, indices } = inputs as { dy: tf.TensorInfo; indices: tf.TensorInfo };
  const rows = (attrs as unknown as { rows: number }).rows;
  const be = backend as tf.KernelBackend;
  const width = dy.shape[1] as number;
  return hostOutput(be, [rows, width], (out) => {
    const g = hostValues(be, dy);
    const idx = hostValues(be, indices);
    if (isWasm(be)) segmentSumSequential(g, idx, rows, width, out);
    else segmentSumBlocked(g, idx, rows, width, cpuBlockSize(be), out);
  });
};

/** tfjs-backend-cpu's `blockSize` (48 in 4.22), the block of its `batchMatMul` loops. */
function cpuBlockSize(backend: tf.KernelBackend): number {
  return (backend as unknown as { blockSize?: number }).blockSize ?? 48;
}

function isWasm(backend: tf.KernelBackend): boolean {
  return (
    typeof (backend as unknown as { typedArrayFromHeap?: unknown }).typedArrayFromHeap ===
    'function'
  );
}
