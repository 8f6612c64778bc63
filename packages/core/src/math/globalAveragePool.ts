import * as tf from '@tensorflow/tfjs-core';
import { assertRank, type TensorInput, toTensor } from '../validation/validation';

/**
 * Global average pooling of an NHWC feature map: `[B, H, W, C] -> [B, C]` (mean over H and W).
 *
 * Forward: one `AvgPool` with an `H × W` window (XNNPACK on wasm; no transpose of the map, unlike
 * `tf.mean(x, [1, 2])`). Backward (closed form): `dx = dy / (H·W)` broadcast over H and W, one
 * broadcasting `Multiply` (tfjs' `AvgPoolGrad` on wasm is two orders of magnitude slower, and
 * `tf.mean`'s gradient allocates about three map-sized tensors).
 *
 * @example
 * ```ts
 * globalAveragePool(tf.ones([2, 4, 4, 8])).shape; // [2, 8]
 * ```
 */
export function globalAveragePool(x: tf.Tensor4D | TensorInput): tf.Tensor2D {
  return tf.tidy(() => {
    const t = toTensor(x, 'x');
    assertRank(t, 4, 'x', 'NHWC [B, H, W, C]');
    return fusedGap(
      t.dtype === 'float32' ? (t as tf.Tensor4D) : tf.cast(t as tf.Tensor4D, 'float32'),
    );
  });
}

const fusedGap = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor4D;
  const [b, h, w, c] = x.shape;
  // The AvgPool kernel itself (tf.avgPool adds a Cast and reshapes around it).
  const pooled = tf.engine().runKernel('AvgPool', { x }, {
    filterSize: [h, w],
    strides: [1, 1],
    pad: 'valid',
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  const value = tf.reshape(pooled, [b, c]);
  return {
    value,
    gradFunc: (dy: tf.Tensor) =>
      tf.mul(tf.reshape(dy, [b, 1, 1, c]), tf.fill([1, h, w, 1], 1 / (h * w))),
  };
}) as (x: tf.Tensor4D) => tf.Tensor2D;
