import type * as tf from '@tensorflow/tfjs-core';
import { columnSums } from './columnSums';
import type { WasmHeapBackend } from './wasmHeap';

/**
 * `Mean` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`. Upstream moves the
 * reduced axes innermost with a `Transpose` of the whole tensor, adds each output's values in
 * float32 from 0 and divides the sum by their count. Where {@link columnSums} applies (consecutive
 * reduced axes in ascending order followed by a kept axis: BatchNorm's moments over `[0, 1, 2]`
 * of NHWC, a global average pool over `[1, 2]`), this kernel makes the same sums straight from the
 * input, then the same division: the same bits, no transposed copy. Every other case, and an
 * empty input, runs `original`.
 */
export function meanKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    // An empty input (a division by a zero count) stays with upstream.
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.shape.includes(0)) return original(args);
    const sums = columnSums(args);
    if (sums === undefined) return original(args);
    const o = (args.backend as unknown as WasmHeapBackend).typedArrayFromHeap(
      sums.out,
    ) as Float32Array;
    // Then upstream's `sum / reduce_size`: the float32 quotient of the float32 sum.
    for (let i = 0; i < o.length; i++) o[i] = (o[i] as number) / sums.reduced;
    return sums.out;
  };
}
