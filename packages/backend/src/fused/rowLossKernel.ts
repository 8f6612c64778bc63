import type * as tf from '@tensorflow/tfjs-core';
import { fusedLossOutputs, hostValues } from './hostMemory';

/** What a fused row loss reads and writes for one kernel call (host memory, `[B, C]` inputs). */
export interface RowLossCall {
  /** The first input's values (the differentiated one, e.g. student logits). */
  x: tf.backend_util.TypedArray;
  /** The second input's values (e.g. teacher logits or soft targets). */
  y: tf.backend_util.TypedArray;
  cols: number;
  /** `1 / temperature`. */
  inv: number;
  /** `scale / temperature`: the gradient's factor. */
  gScale: number;
  /** The gradient with respect to `x`, `[B, C]`, to fill. */
  g: Float32Array;
}

/**
 * A fused loss kernel over two `[B, C]` inputs named `names` with attributes `temperature` and
 * `scale`: `prepare(call)` runs once per kernel call (after the gradient is allocated, so host
 * views are current) and returns the row function, which fills row `o / C` of the gradient from
 * offset `o` and returns the row's unscaled loss. Outputs `[scale · Σ rows (scalar), gradient]`.
 * The shared frame of `softmaxKlKernel` and `softCrossEntropyKernel`. Internal.
 */
export function rowLossKernel(
  names: readonly [string, string],
  prepare: (call: RowLossCall) => (o: number) => number,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs[names[0]] as tf.TensorInfo;
    const y = inputs[names[1]] as tf.TensorInfo;
    const { temperature, scale } = attrs as unknown as { temperature: number; scale: number };
    const be = backend as tf.KernelBackend;
    const [rows, cols] = x.shape as [number, number];
    return fusedLossOutputs(be, [rows, cols], scale, (g) => {
      // Views after the allocation (a wasm heap may have grown and moved).
      const row = prepare({
        x: hostValues(be, x),
        y: hostValues(be, y),
        cols,
        inv: 1 / temperature,
        gScale: scale / temperature,
        g,
      });
      let total = 0;
      for (let r = 0; r < rows; r++) total += row(r * cols);
      return total;
    });
  };
}
