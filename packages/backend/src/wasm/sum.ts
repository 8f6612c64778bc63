import * as tf from '@tensorflow/tfjs-core';
import { sumColumns } from './sumColumns';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `Sum` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`: a float32 sum over
 * every axis but the last (the bias gradient of a dense or conv layer, `[N, H, W, C] -> [C]`) is
 * one JavaScript pass over the wasm heap ({@link sumColumns}: sixteen channels at a time in
 * float32 accumulators), instead of a transpose of the whole tensor followed by the reduction. Same order of additions, each
 * rounded to float32, so the same bits as upstream; 2-4x faster on MNIST-sized maps (0.68 →
 * 0.30 ms for `[64, 28, 28, 8]`). Every other reduction runs `original`.
 */
export function sumKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2) return original(args);
    // In ascending order as given: upstream's transpose keeps the given order, and e.g. `[2, 0, 1]`
    // adds the values in another order (other bits).
    const axes = tf.util.parseAxisParam(axis, x.shape);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return original(args);
    const c = x.shape[rank - 1] as number;
    const be = args.backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(
      keepDims ? [...new Array<number>(rank - 1).fill(1), c] : [c],
      'float32',
    );
    // Views after the allocation (the heap may have grown and moved).
    const v = be.typedArrayFromHeap(x) as Float32Array;
    sumColumns(v, 0, v.length / c, c, be.typedArrayFromHeap(out) as Float32Array, 0);
    return out;
  };
}
