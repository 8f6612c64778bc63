import * as tf from '@tensorflow/tfjs-core';
import { composite } from './kernelScope';
import type { WasmHeapBackend } from './wasmHeap';

/** Row length XNNPACK's broadcasting binary ops are fast from (measured: ≥ 256 floats). */
const WIDE_ROW = 256;

/**
 * A float32 `Add`/`Sub`/`Multiply` of a full tensor and a vector along its last axis (a bias add,
 * `x·scale`), run by tfjs-backend-wasm's XNNPACK kernel `original` on wider rows: XNNPACK
 * broadcasts row by row, and rows of a few channels (`[64, 28, 28, 8] + [8]`) cost 6x a
 * same-shape add. The full operand is viewed as `[M / k, k·C]` and the vector tiled k times
 * (`k·C ≥ 256`, k dividing the M rows), which computes the same element-wise results.
 * `vectorFirst`: the vector is `a` (then only for the commutative `Add` and `Multiply`).
 * Returns `undefined` when the operands do not have that form (the caller runs `original`).
 */
export function rowBroadcast(
  original: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
  commutative: boolean,
): tf.TensorInfo | undefined {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const bVector = isRowVector(b, a.shape);
  const aVector = !bVector && commutative && isRowVector(a, b.shape);
  if (!bVector && !aVector) return undefined;
  const full = bVector ? a : b;
  const vector = bVector ? b : a;
  const c = full.shape[full.shape.length - 1] as number;
  if (c >= WIDE_ROW) return undefined;
  const rows = tf.util.sizeFromShape(full.shape) / c;
  const k = tileFactor(rows, Math.ceil(WIDE_ROW / c));
  if (k === undefined) return undefined;
  return composite(args.backend as tf.KernelBackend, (s) => {
    const tiled = s.alloc([k * c]);
    const heap = s.backend as unknown as WasmHeapBackend;
    const v = heap.typedArrayFromHeap(vector);
    const t = heap.typedArrayFromHeap(tiled);
    for (let r = 0; r < k; r++) t.set(v, r * c);
    const wide = s.reshape(full, [rows / k, k * c]);
    const inputs = bVector ? { a: wide, b: tiled } : { a: tiled, b: wide };
    const out = s.call(original, inputs, args.attrs as Record<string, unknown>);
    return s.reshape(out, full.shape.slice());
  });
}

/** `v` has `shape`'s last extent and 1 everywhere else (rank at most `shape`'s), `shape` rank ≥ 2. */
function isRowVector(v: tf.TensorInfo, shape: readonly number[]): boolean {
  const c = shape[shape.length - 1];
  if (shape.length < 2 || v.shape.length > shape.length || v.shape.length === 0) return false;
  if (v.shape[v.shape.length - 1] !== c) return false;
  return (
    v.shape.slice(0, -1).every((d) => d === 1) &&
    tf.util.sizeFromShape(shape.slice()) > (c as number)
  );
}

/** The smallest divisor k of `rows` with `min ≤ k ≤ 8·min`, if any. */
function tileFactor(rows: number, min: number): number | undefined {
  for (let k = min; k <= 8 * min && k <= rows; k++) if (rows % k === 0) return k;
  return undefined;
}
