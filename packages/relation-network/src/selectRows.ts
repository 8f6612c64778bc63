import * as tf from '@tensorflow/tfjs-core';

/**
 * The kernel pair {@link selectRows} runs where the active backend registered both
 * (@relkd/backend does for cpu and wasm): `RelkdSelectRows`, inputs `{ x: float32 [N, D],
 * indices: int32 [K] }` -> `[K, D]` (the selected rows, `+ 0`), and its gradient
 * `RelkdSelectRowsGrad`, inputs `{ dy: float32 [K, D], indices }`, attribute `{ rows: N }` ->
 * `[N, D]` (the selected `dy` rows summed per source row, in the order and float32 rounding of
 * that backend's matrix product). Both give the bits of the one-hot product below.
 */
const SELECT_ROWS_KERNEL = 'RelkdSelectRows';
const SELECT_ROWS_GRAD_KERNEL = 'RelkdSelectRowsGrad';

/**
 * The rows of `x` `[N, D]` at `indices` `[K]`, in order: `oneHot(indices, N) · x` (`[K, D]`),
 * whose gradient to `x` is `oneHot(indices, N)ᵀ · dy`. On a backend with the `RelkdSelectRows`
 * kernel pair the rows are copied and the gradient is a segment sum, bit-identical to the product
 * for finite values (a non-finite value then stays in its row instead of spreading NaN through
 * `0 · ∞`); elsewhere (e.g. webgpu) the one-hot product itself runs. An index outside `[0, N)`
 * selects a row of zeros. Internal (the kernel count does not depend on K or N).
 */
export function selectRows(x: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  const rows = x.shape[0];
  const backend = tf.getBackend();
  if (
    tf.getKernel(SELECT_ROWS_KERNEL, backend) === undefined ||
    tf.getKernel(SELECT_ROWS_GRAD_KERNEL, backend) === undefined
  ) {
    return tf.matMul(selector(indices, rows), x);
  }
  const select = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.engine().runKernel(SELECT_ROWS_KERNEL, { x: input, indices }, {}) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf
          .engine()
          .runKernel(
            SELECT_ROWS_GRAD_KERNEL,
            { dy, indices: saved[0] as tf.Tensor1D },
            { rows },
          ) as tf.Tensor2D,
      ],
    };
  });
  return (select as (t: tf.Tensor2D) => tf.Tensor2D)(x);
}

/** The float32 one-hot selector `[K, rows]` of row indices `idx` `[K]`. */
function selector(idx: tf.Tensor1D, rows: number): tf.Tensor2D {
  // tf.oneHot needs depth >= 2; with a single row the selector is the column `idx == 0`
  const hot = rows === 1 ? tf.expandDims(tf.equal(idx, 0), 1) : tf.oneHot(idx, rows);
  return tf.cast(hot, 'float32') as tf.Tensor2D;
}
