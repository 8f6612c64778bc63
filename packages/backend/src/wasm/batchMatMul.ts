import type * as tf from '@tensorflow/tfjs-core';
import { composite, type KernelScope } from './kernelScope';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * A faster `BatchMatMul` for the wasm backend, wrapping tfjs-backend-wasm's own kernel `original`.
 * tfjs-backend-wasm 4.22 multiplies 5-15x slower when `transposeA` or `transposeB` is set (every
 * matmul gradient, every Gram matrix `X·Xᵀ`) than without; this wrapper transposes the flagged
 * operand explicitly (its last two axes) and calls `original` with both flags false. Same values
 * (the same products and sums), one operand-sized temporary more. A float32 operand whose row
 * count is a multiple of 256 is transposed by {@link transposeLastTwo} (a tiled copy over the wasm
 * heap, 2-5x faster than the wasm `Transpose` kernel there); other operands, or every operand with
 * `{ jsTranspose: false }` (the previous behaviour, kept as the reference of the tests), by the
 * `Transpose` kernel.
 */
export function batchMatMulKernel(
  original: tf.KernelFunc,
  options: { jsTranspose?: boolean } = {},
): tf.KernelFunc {
  const js = options.jsTranspose ?? true;
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    if (!transposeA && !transposeB) return original(args);
    return composite(backend as tf.KernelBackend, (s) => {
      const a2 = transposeA ? flip(s, a, js) : a;
      const b2 = transposeB ? flip(s, b, js) : b;
      return s.call(
        original,
        { a: a2, b: b2 },
        { ...(attrs as Record<string, unknown>), transposeA: false, transposeB: false },
      );
    });
  };
}

/** `t` with its last two axes swapped, owned by `s` (`js`: float32 by {@link transposeLastTwo}). */
function flip(s: KernelScope, t: tf.TensorInfo, js: boolean): tf.TensorInfo {
  const rank = t.shape.length;
  const shape = t.shape.slice();
  const rows = shape[rank - 2] as number;
  const cols = shape[rank - 1] as number;
  shape[rank - 2] = cols;
  shape[rank - 1] = rows;
  if (!js || t.dtype !== 'float32' || !transposeInJs(rows, cols)) {
    const perm = t.shape.map((_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
    return s.run('Transpose', { x: t }, { perm });
  }
  const out = s.alloc(shape);
  // views after the allocation (the wasm heap may have grown and moved)
  const heap = s.backend as unknown as WasmHeapBackend;
  const src = heap.typedArrayFromHeap(t) as Float32Array;
  const dst = heap.typedArrayFromHeap(out) as Float32Array;
  transposeLastTwo(src, dst, src.length / (rows * cols), rows, cols);
  return out;
}

const TILE = 64;

/**
 * Whether {@link flip} transposes a `rows × cols` float32 matrix in JavaScript. tfjs-backend-wasm's
 * `Transpose` slows down 4-10x when the row count is a multiple of 256 (its writes then run at a
 * power-of-two stride: `[2048, 64]` 1.08 ms, `[3136, 32]` 0.05 ms), where the tiled JavaScript
 * copy wins (`[2048, 64]` 0.27 ms, `[1024, 64]` 0.97 → 0.20 ms, `[8192, 16]` 0.40 → 0.26 ms); for
 * other row counts the kernel is the faster one (`[6272, 64]`: 0.24 against 0.91 ms).
 */
function transposeInJs(rows: number, cols: number): boolean {
  return rows % 256 === 0 && cols >= 16;
}

/**
 * `dst[b, j, i] = src[b, i, j]` for `batch` matrices of `rows × cols` (row-major), in tiles of
 * 64 × 64: within a tile, each output row is written in order (reads strided) for tall matrices,
 * each input row is read in order for wide ones, which keeps the power-of-two strides of the other
 * side from thrashing the cache. An exact copy. Exported for tests.
 */
export function transposeLastTwo(
  src: Float32Array,
  dst: Float32Array,
  batch: number,
  rows: number,
  cols: number,
): void {
  const size = rows * cols;
  const tall = rows >= cols;
  for (let m = 0; m < batch; m++) {
    const base = m * size;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, cols);
        if (tall) {
          for (let j = j0; j < j1; j++) {
            const d = base + j * rows;
            for (let i = i0; i < i1; i++) dst[d + i] = src[base + i * cols + j] as number;
          }
        } else {
          for (let i = i0; i < i1; i++) {
            const s = base + i * cols;
            for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[s + j] as number;
          }
        }
      }
    }
  }
}
