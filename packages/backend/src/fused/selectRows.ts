import type * as tf from '@tensorflow/tfjs-core';
import { hostOutput, hostValues } from './hostMemory';

/**
 * Name of the row-selection kernel that `@relkd/relation-network` runs for CORSD's pair batches
 * when the active backend has it (cpu and wasm, registered by `useBackend`); elsewhere it composes
 * a one-hot matrix product. Inputs `{ x: float32 [N, D], indices: int32 [K] }`, attributes
 * `{ groups: G, channels: C }` (`G` divides `K`, `C` divides `D`; `G = 1, C = D` is a plain row
 * selection); output float32 `[K/G, D/C, G, C]`:
 * `out[m, p, g, c] = x[indices[g·K/G + m], p·C + c] + 0`, i.e. the rows of the product
 * `oneHot(indices, N) · x` (`[K, D]`) viewed as `[G, K/G, D/C, C]` and transposed to
 * `[K/G, D/C, G, C]` (CORSD's joint pair batch: `G = 2` puts each pair's two images side by side on
 * the channel axis). Adding `+0` turns `-0` into `+0`, as the product does (its accumulators start
 * at `+0`); an index outside `[0, N)` gives zeros (an all-zero one-hot row).
 */
export const SELECT_ROWS_KERNEL = 'RelkdSelectRows';

/**
 * Name of the gradient kernel of {@link SELECT_ROWS_KERNEL}: inputs `{ dy: float32 [K/G, D/C, G,
 * C] (any shape of that size), indices: int32 [K] }`, attributes `{ rows: N, groups: G, channels:
 * C }`; output float32 `[N, D]`: row `n` is the sum of the selected rows `k` (`indices[k] = n`) of
 * `dy` taken back to the `[K, D]` layout, `+0` where there are none, added in exactly the order and
 * float32 rounding of the product `oneHot(indices, N)ᵀ · dy` on the same backend (see
 * {@link segmentSumSequential} and {@link segmentSumBlocked}), so the two are bit-identical for
 * finite `dy`.
 */
export const SELECT_ROWS_GRAD_KERNEL = 'RelkdSelectRowsGrad';

/** The layout of a selection: `K` indices in `G` groups, rows of `D` values in chunks of `C`. */
export interface SelectLayout {
  /** Source rows `N`. */
  rows: number;
  /** Values per row `D`. */
  width: number;
  /** Groups `G` (divides the number of indices). */
  groups: number;
  /** Chunk `C` (divides `width`). */
  channels: number;
}

/**
 * `dst` (`[K/G, D/C, G, C]`) `[m, p, g, c] = src[indices[g·K/G + m], p·C + c] + 0`, `src` is
 * `[rows, width]`; zeros where the index is outside `[0, rows)`. Adding `+0` turns `-0` into `+0`
 * and leaves every other value (`NaN` included) as it is. Exported for tests.
 */
export function copyRows(
  src: Float32Array,
  indices: Int32Array,
  layout: SelectLayout,
  dst: Float32Array,
): void {
  const { rows, width, groups, channels } = layout;
  const k = indices.length;
  const m = k / groups;
  const chunks = width / channels;
  const step = groups * channels;
  for (let i = 0; i < k; i++) {
    const n = indices[i] as number;
    const base = laidOutOffset(i, m, layout);
    if (!(n >= 0 && n < rows)) {
      for (let p = 0; p < chunks; p++) dst.fill(0, base + p * step, base + p * step + channels);
      continue;
    }
    const s0 = n * width;
    for (let p = 0; p < chunks; p++) {
      const o = base + p * step;
      const s = s0 + p * channels;
      for (let c = 0; c < channels; c++) dst[o + c] = (src[s + c] as number) + 0;
    }
  }
}

/**
 * Where selected row `i` (of `K`, in groups of `m = K/G`) starts in the kernel layout
 * `[K/G, D/C, G, C]`: its first chunk of `C` values; chunk `p` follows at `p·G·C`.
 */
function laidOutOffset(i: number, m: number, layout: SelectLayout): number {
  const { width, groups, channels } = layout;
  const g = (i / m) | 0;
  return (i - g * m) * groups * width + g * channels;
}

/**
 * `dst[o .. o + width)` `+=` row `i` of `dy` (in the kernel layout); `first`: `+0 + row` instead
 * (the row with `-0` made `+0`: the first addition of a sum that starts at `+0`).
 */
function addRow(
  dy: Float32Array,
  i: number,
  m: number,
  layout: SelectLayout,
  dst: Float32Array | Float64Array,
  o: number,
  first: boolean,
): void {
  const { width, groups, channels } = layout;
  const s0 = laidOutOffset(i, m, layout);
  const chunks = width / channels;
  const step = groups * channels;
  for (let p = 0; p < chunks; p++) {
    const s = s0 + p * step;
    const t = o + p * channels;
    if (first) for (let c = 0; c < channels; c++) dst[t + c] = (dy[s + c] as number) + 0;
    else
      for (let c = 0; c < channels; c++)
        dst[t + c] = (dst[t + c] as number) + (dy[s + c] as number);
  }
}

/**
 * The segment sum of the wasm backend's product `oneHot(indices, rows)ᵀ · dy` (tfjs-backend-wasm
 * 4.22: `BatchMatMul` is an XNNPACK GEMM; each output starts at `+0` and adds its `K` products
 * one after the other in float32, a multiply then an add, no FMA): `dst[n] = (((+0 + dy[k₁]) +
 * dy[k₂]) + …)` over the `k` with `indices[k] = n` in increasing order, every addition rounded to
 * float32 (a `Float32Array` store of the exact double sum is the correctly rounded float32 sum).
 * The products with the zeros of the one-hot matrix are `±0` and change no partial sum that
 * starts at `+0`; `+0 + dy[k₁]` is `dy[k₁]` with `-0` made `+0`. `dy` is in the layout of
 * {@link SELECT_ROWS_GRAD_KERNEL}; `dst` is `[rows, width]`, overwritten. Exported for tests.
 */
export function segmentSumSequential(
  dy: Float32Array,
  indices: Int32Array,
  layout: SelectLayout,
  dst: Float32Array,
): void {
  const { rows, width } = layout;
  const k = indices.length;
  const m = k / layout.groups;
  const seen = new Uint8Array(rows);
  for (let i = 0; i < k; i++) {
    const n = indices[i] as number;
    if (!(n >= 0 && n < rows)) continue;
    addRow(dy, i, m, layout, dst, n * width, seen[n] === 0);
    seen[n] = 1;
  }
  for (let n = 0; n < rows; n++) if (seen[n] === 0) dst.fill(0, n * width, (n + 1) * width);
}

/**
 * The segment sum of the cpu backend's product `oneHot(indices, rows)ᵀ · dy` (tfjs-backend-cpu
 * 4.22's blocked `batchMatMul`): the shared axis `k` runs in blocks of `block` (the backend's
 * `blockSize`, 48); within a block the products are summed in float64 starting at `0.0`, in
 * increasing `k`, and the block's sum is added to the float32 output (`+=` on a `Float32Array`:
 * one float32 rounding per block). Blocks that select nothing add `+0` (no change). `dy` is in the
 * layout of {@link SELECT_ROWS_GRAD_KERNEL}; `dst` is `[rows, width]`, overwritten. Exported for
 * tests.
 */
export function segmentSumBlocked(
  dy: Float32Array,
  indices: Int32Array,
  layout: SelectLayout,
  block: number,
  dst: Float32Array,
): void {
  const { rows, width } = layout;
  dst.fill(0, 0, rows * width);
  const k = indices.length;
  const m = k / layout.groups;
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
      addRow(dy, i, m, layout, acc, n * width, false);
    }
    for (const n of list) {
      const o = n * width;
      for (let d = o; d < o + width; d++) {
        dst[d] = (dst[d] as number) + (acc[d] as number);
        acc[d] = 0;
      }
    }
    list.length = 0;
  }
}

/** The selection layout of a kernel call (attributes `groups`, `channels` default to 1 and D). */
function layoutOf(rows: number, width: number, attrs: tf.NamedAttrMap | undefined): SelectLayout {
  const a = (attrs ?? {}) as { groups?: number; channels?: number };
  return { rows, width, groups: a.groups ?? 1, channels: a.channels ?? width };
}

/** The `RelkdSelectRows` kernel (see {@link SELECT_ROWS_KERNEL}) on cpu and wasm. */
export const selectRowsKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const be = backend as tf.KernelBackend;
  const [rows, width] = x.shape as [number, number];
  const layout = layoutOf(rows, width, attrs);
  const k = indices.shape[0] as number;
  const shape = [k / layout.groups, width / layout.channels, layout.groups, layout.channels];
  return hostOutput(be, shape, (out) => {
    copyRows(hostValues(be, x) as Float32Array, hostValues(be, indices) as Int32Array, layout, out);
  });
};

/** The `RelkdSelectRowsGrad` kernel (see {@link SELECT_ROWS_GRAD_KERNEL}) on cpu and wasm. */
export const selectRowsGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, indices } = inputs as { dy: tf.TensorInfo; indices: tf.TensorInfo };
  const rows = (attrs as unknown as { rows: number }).rows;
  const be = backend as tf.KernelBackend;
  const k = indices.shape[0] as number;
  const width = dy.shape.reduce((a, b) => a * b, 1) / k;
  const layout = layoutOf(rows, width, attrs);
  return hostOutput(be, [rows, width], (out) => {
    const g = hostValues(be, dy) as Float32Array;
    const idx = hostValues(be, indices) as Int32Array;
    if (isWasm(be)) segmentSumSequential(g, idx, layout, out);
    else segmentSumBlocked(g, idx, layout, cpuBlockSize(be), out);
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
