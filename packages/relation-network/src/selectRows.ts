import * as tf from '@tensorflow/tfjs-core';

/**
 * The kernel pair {@link selectRows} runs where the active backend registered both
 * (@relkd/backend does for cpu and wasm): `RelkdSelectRows`, inputs `{ x: float32 [N, D],
 * indices: int32 [K] }`, attributes `{ groups: G, channels: C }` -> `[K/G, D/C, G, C]` (the
 * selected rows `+ 0`, in the layout below), and its gradient `RelkdSelectRowsGrad`, inputs
 * `{ dy, indices }`, attributes `{ rows: N, groups, channels }` -> `[N, D]` (the selected `dy` rows
 * summed per source row, in the order and float32 rounding of that backend's matrix product). Both
 * give the bits of the one-hot product below.
 */
const SELECT_ROWS_KERNEL = 'RelkdSelectRows';
const SELECT_ROWS_GRAD_KERNEL = 'RelkdSelectRowsGrad';

/** How {@link selectRows} lays out its `K` selected rows. */
export interface SelectRowsLayout {
  /** `G`: the selected rows are `G` consecutive groups of `K/G` (default 1). */
  groups?: number;
  /** `C`: each row is `D/C` chunks of `C` values (default `D`). */
  channels?: number;
}

/**
 * The rows of `x` `[N, D]` at `indices` `[K]` as the one-hot product `oneHot(indices, N) · x`
 * (`[K, D]`, gradient to `x`: `oneHot(indices, N)ᵀ · dy`), viewed as `[G, K/G, D/C, C]` and
 * transposed to `[K/G, D/C, G, C]`: entry `[m, p, g, c]` is `x[indices[g·K/G + m], p·C + c]`
 * (with `G = 2` and `C` the channels of an NHWC row, the rows of group 0 and group 1 side by side on
 * the channel axis: CORSD's joint pair batch). On a backend with the `RelkdSelectRows` kernel pair
 * the rows are copied into that layout and the gradient is a segment sum, bit-identical to the
 * product and the transposes for finite values (a non-finite value then stays in its row instead
 * of spreading NaN through `0 · ∞`); elsewhere (e.g. webgpu) the product and the transpose run. An
 * index outside `[0, N)` selects zeros. Internal (the kernel count does not depend on K or N).
 */
export function selectRows(
  x: tf.Tensor2D,
  indices: tf.Tensor1D,
  layout: SelectRowsLayout = {},
): tf.Tensor4D {
  const [rows, width] = x.shape;
  const k = indices.shape[0];
  const groups = layout.groups ?? 1;
  const channels = layout.channels ?? width;
  const backend = tf.getBackend();
  if (
    tf.getKernel(SELECT_ROWS_KERNEL, backend) === undefined ||
    tf.getKernel(SELECT_ROWS_GRAD_KERNEL, backend) === undefined
  ) {
    const product = tf.matMul(selector(indices, rows), x);
    if (groups === 1) return tf.reshape(product, [k, width / channels, 1, channels]);
    const grouped = tf.reshape(product, [groups, k / groups, width / channels, channels]);
    return tf.transpose(grouped, [1, 2, 0, 3]) as tf.Tensor4D;
  }
  const attrs = { groups, channels };
  const select = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.engine().runKernel(SELECT_ROWS_KERNEL, { x: input, indices }, attrs) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf
          .engine()
          .runKernel(
            SELECT_ROWS_GRAD_KERNEL,
            { dy, indices: saved[0] as tf.Tensor1D },
            { rows, ...attrs },
          ) as tf.Tensor2D,
      ],
    };
  });
  return (select as (t: tf.Tensor2D) => tf.Tensor4D)(x);
}

/** The float32 one-hot selector `[K, rows]` of row indices `idx` `[K]`. */
function selector(idx: tf.Tensor1D, rows: number): tf.Tensor2D {
  // tf.oneHot needs depth >= 2; with a single row the selector is the column `idx == 0`
  const hot = rows === 1 ? tf.expandDims(tf.equal(idx, 0), 1) : tf.oneHot(idx, rows);
  return tf.cast(hot, 'float32') as tf.Tensor2D;
}
