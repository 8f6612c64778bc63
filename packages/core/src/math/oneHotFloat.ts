import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, assertRank, type TensorInput, toTensor } from '../validation/validation';

/**
 * float32 one-hot rows: `out[b, c] = 1` where `labels[b] = c`, else `0`; `[B] -> [B, depth]`.
 * A label outside `[0, depth)` gives an all-zero row (as `tf.oneHot` does). The mask carries no
 * gradient (labels are integers).
 *
 * Use it instead of `tf.oneHot(labels, depth, 1, 0, 'float32')`, which has two traps:
 * tfjs-backend-wasm 4.22's `OneHot` kernel writes int32 bit patterns into float32 outputs
 * (`1` reads as `1.4e-45`; `useBackend('wasm')` from `@relkd/backend` patches the kernel, a plain
 * `tf.setBackend('wasm')` does not), and `tf.oneHot` rejects `depth = 1`. This helper asks
 * `OneHot` for int32 (right on every backend) and casts, and compares the labels with
 * `range(depth)` for `depth = 1`, so it is right on every backend and for every `depth >= 1`.
 *
 * Shapes: `labels` int32 `[B]` (a JS array is converted to int32), `depth` an integer `>= 1`.
 *
 * @throws RelkdError `INVALID_OPTION` (bad `depth`, not tensor-like), `DTYPE_MISMATCH`,
 *   `RANK_MISMATCH`
 * @example
 * ```ts
 * oneHotFloat(tf.tensor1d([0, 2], 'int32'), 3); // [[1, 0, 0], [0, 0, 1]] float32
 * oneHotFloat([0, 0], 1);                       // [[1], [1]]
 * ```
 */
export function oneHotFloat(labels: tf.Tensor1D | TensorInput, depth: number): tf.Tensor2D {
  assertNumber(depth, 'depth', { min: 1, integer: true });
  return tf.tidy(() => {
    const y = toTensor(labels, 'labels', 'int');
    assertRank(y, 1, 'labels', '[B] int32 class indices');
    // tf.oneHot needs depth >= 2; its int32 output is right on every backend (wasm's float32
    // one is not), and it is much faster than the broadcast comparison on wasm.
    const hit =
      depth >= 2
        ? tf.oneHot(y as tf.Tensor1D, depth)
        : tf.equal(tf.expandDims(y, 1), tf.range(0, depth, 1, 'int32'));
    return tf.cast(hit, 'float32') as tf.Tensor2D;
  });
}
