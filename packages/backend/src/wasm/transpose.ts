import type * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

/** Tile edge of the blocked pass: a 16 x 16 tile of floats reads and writes 16 cache lines. */
const TILE = 16;
/**
 * Upstream's copy is slow when its output rows are a multiple of 256 floats (1 KB) long and there
 * are ≥ 16 of them (measured on `[m, n] → [n, m]`: `[256, 64]` 2.9x, `[768, 64]` 1.9x, `[1024, 32]`
 * 3.3x, `[1024, 16]` 1.3x slower than this pass; `[1000, 64]` and `[4096, 8]` 3x and 1.3x faster).
 */
const ALIASED_ROWS = 256;
const MIN_COLUMNS = 16;

/**
 * `Transpose` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`: a swap of the
 * last two axes (`perm` `[1, 0]`, `[0, 2, 1]`, ...; the transposed operand of a matmul gradient)
 * of a float32 or int32 tensor whose output rows are a multiple of 256 values long (MTKD-SSR's
 * 1x1-convolution gradients: `[1024, 64] → [64, 1024]`) is one JavaScript pass over the wasm heap
 * in 16 x 16 tiles. Upstream's copy slows down ~10x on such power-of-two strides (cache-set
 * aliasing: 0.6 ms for `[1024, 64]`, against 0.06 ms for `[1000, 64]`); elsewhere it is faster
 * than this pass and runs as before.
 * Values are moved, not computed: the output is the same, bit for bit. Every other permutation
 * and dtype runs `original`.
 *
 * Shapes: `x` `[...batch, M, N]` → `[...batch, N, M]`.
 */
export function transposeKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const rank = x.shape.length;
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || rank < 2) return original(args);
    if (perm.length !== rank || perm.some((p, i) => p !== (i < rank - 2 ? i : 2 * rank - 3 - i))) {
      return original(args);
    }
    const m = x.shape[rank - 2] as number;
    const n = x.shape[rank - 1] as number;
    // Upstream is faster everywhere else (measured: 3x at [4096, 8] and [1000, 64]).
    if (m % ALIASED_ROWS !== 0 || n < MIN_COLUMNS) return original(args);
    const outShape = perm.map((p) => x.shape[p] as number);
    const be = args.backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(outShape, x.dtype);
    // Views after the allocation (the heap may have grown and moved).
    const src = be.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const dst = be.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const batch = m * n === 0 ? 0 : src.length / (m * n);
    for (let b = 0; b < batch; b++) transposeTiles(src, dst, b * m * n, m, n);
    return out;
  };
}

/** `dst[base + j·m + i] = src[base + i·n + j]` for i < m, j < n, in TILE x TILE blocks. */
function transposeTiles(
  src: Float32Array | Int32Array,
  dst: Float32Array | Int32Array,
  base: number,
  m: number,
  n: number,
): void {
  for (let i0 = 0; i0 < m; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, m);
    for (let j0 = 0; j0 < n; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, n);
      for (let j = j0; j < j1; j++) {
        let s = base + i0 * n + j;
        let d = base + j * m + i0;
        for (let i = i0; i < i1; i++) {
          dst[d] = src[s] as number;
          s += n;
          d++;
        }
      }
    }
  }
}
