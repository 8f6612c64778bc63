import * as tf from '@tensorflow/tfjs-core';
import { rowBroadcast } from './rowBroadcast';
import type { WasmHeapBackend } from './wasmHeap';

/** The binary kernels with a JavaScript path, and what each computes (same as the cpu backend). */
const OPS = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  Maximum: 3,
  Minimum: 4,
  Greater: 5,
  GreaterEqual: 6,
  Less: 7,
  LessEqual: 8,
  Equal: 9,
  NotEqual: 10,
  LogicalAnd: 11,
  LogicalOr: 12,
} as const;

/** Kernel names of {@link binaryKernel}. */
export const FAST_BINARY_KERNELS = Object.keys(OPS) as (keyof typeof OPS)[];

/**
 * A binary elementwise kernel for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`.
 * Upstream, only float32 `Add`/`Sub`/`Multiply` run on XNNPACK; every other op and dtype (the
 * comparisons, `Maximum`/`Minimum`, the logical ops, int32 arithmetic such as index computations)
 * goes through a generic C++ loop that recomputes broadcast indices per element, 3-10x slower
 * than one JavaScript pass over the wasm heap with precomputed strides. float32
 * `Add`/`Sub`/`Multiply` keep the original kernel, on wider rows when one operand is a vector along
 * the last axis ({@link rowBroadcast}). Values as on the cpu backend (`Maximum` and
 * `Minimum` propagate NaN like `Math.max`/`Math.min`).
 */
export function binaryKernel(name: keyof typeof OPS): (original: tf.KernelFunc) => tf.KernelFunc {
  const op = OPS[name];
  return (original) => (args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    // Arithmetic: int32 only (float32 runs on XNNPACK upstream); Maximum/Minimum and comparisons:
    // float32 and int32 (and bool for comparisons); logical ops: bool. Anything else: upstream.
    const dtype = a.dtype;
    const supported =
      dtype === b.dtype &&
      (op <= 2
        ? dtype === 'int32'
        : op <= 4
          ? dtype === 'float32' || dtype === 'int32'
          : op <= 10
            ? dtype === 'float32' || dtype === 'int32' || dtype === 'bool'
            : dtype === 'bool');
    if (!supported) {
      // float32 Add/Sub/Multiply (XNNPACK): a vector along the last axis gets wider rows.
      return (op <= 2 ? rowBroadcast(original, args, op !== OPS.Sub) : undefined) ?? original(args);
    }
    const be = backend as unknown as WasmHeapBackend;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    // Ops from Greater on (comparisons, logical ops) output bool.
    const out = be.makeOutput(outShape, op >= OPS.Greater ? 'bool' : dtype);
    const size = tf.util.sizeFromShape(outShape);
    if (size === 0) return out;
    // Views after the allocation (the heap may have grown and moved).
    const av = be.typedArrayFromHeap(a);
    const bv = be.typedArrayFromHeap(b);
    const ov = be.typedArrayFromHeap(out);
    const rank = outShape.length;
    const sa = alignedStrides(a.shape, outShape);
    const sb = alignedStrides(b.shape, outShape);
    const inner = rank === 0 ? 1 : (outShape[rank - 1] as number);
    const ia = rank === 0 ? 0 : (sa[rank - 1] as number);
    const ib = rank === 0 ? 0 : (sb[rank - 1] as number);
    const rows = size / inner;
    const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
    let pa = 0;
    let pb = 0;
    let po = 0;
    for (let r = 0; r < rows; r++) {
      run(op, av, bv, ov, pa, pb, po, inner, ia, ib);
      po += inner;
      // Odometer over the outer axes.
      for (let d = rank - 2; d >= 0; d--) {
        const v = (index[d] as number) + 1;
        if (v < (outShape[d] as number)) {
          index[d] = v;
          pa += sa[d] as number;
          pb += sb[d] as number;
          break;
        }
        index[d] = 0;
        pa -= (v - 1) * (sa[d] as number);
        pb -= (v - 1) * (sb[d] as number);
      }
    }
    return out;
  };
}

/** Strides of `shape` over `outShape`'s axes (right-aligned; 0 on broadcast axes). */
function alignedStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const out = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, j = outShape.length - 1; i >= 0; i--, j--) {
    const n = shape[i] as number;
    out[j] = n === 1 ? 0 : stride;
    stride *= n;
  }
  return out;
}

/** One row of `inner` outputs. */
function run(
  op: number,
  a: tf.backend_util.TypedArray,
  b: tf.backend_util.TypedArray,
  o: tf.backend_util.TypedArray,
  pa: number,
  pb: number,
  po: number,
  n: number,
  ia: number,
  ib: number,
): void {
  switch (op) {
    case 0:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) + (b[pb + k * ib] as number);
      return;
    case 1:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) - (b[pb + k * ib] as number);
      return;
    case 2:
      for (let k = 0; k < n; k++)
        o[po + k] = Math.imul(a[pa + k * ia] as number, b[pb + k * ib] as number);
      return;
    case 3:
      for (let k = 0; k < n; k++)
        o[po + k] = Math.max(a[pa + k * ia] as number, b[pb + k * ib] as number);
      return;
    case 4:
      for (let k = 0; k < n; k++)
        o[po + k] = Math.min(a[pa + k * ia] as number, b[pb + k * ib] as number);
      return;
    case 5:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) > (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 6:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) >= (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 7:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) < (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 8:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) <= (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 9:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) === (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 10:
      for (let k = 0; k < n; k++)
        o[po + k] = (a[pa + k * ia] as number) !== (b[pb + k * ib] as number) ? 1 : 0;
      return;
    case 11:
      for (let k = 0; k < n; k++) o[po + k] = a[pa + k * ia] && b[pb + k * ib] ? 1 : 0;
      return;
    default:
      for (let k = 0; k < n; k++) o[po + k] = a[pa + k * ia] || b[pb + k * ib] ? 1 : 0;
  }
}
