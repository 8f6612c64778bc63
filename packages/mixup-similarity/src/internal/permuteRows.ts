import * as tf from '@tensorflow/tfjs-core';

/**
 * The inverse of a permutation tensor on the device: `inv[π_i] = i` (one `scatterND`, O(B)).
 * `perm` must be an int32 permutation of `[0, B)`.
 */
export function inversePermutation(perm: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const n = perm.shape[0];
    return tf.scatterND(tf.reshape(perm, [n, 1]), tf.range(0, n, 1, 'int32'), [n]) as tf.Tensor1D;
  });
}

/**
 * `x[π]` along axis 0 (`tf.gather`) with a hand-written gradient: the gradient of a row
 * permutation is the inverse row permutation, `∂/∂x = dy[π⁻¹]`, another `gather`. tfjs-core's
 * own `GatherV2` gradient needs `UnsortedSegmentSum`, which the WASM backend lacks, so this keeps
 * `mixup` differentiable w.r.t. its inputs (e.g. token embeddings) on every backend.
 *
 * Correct only when `perm` is a permutation (validated by the public callers).
 */
const permute = tf.customGrad(
  (
    x: tf.Tensor | tf.GradSaveFunc,
    perm: tf.Tensor | tf.GradSaveFunc,
    save: tf.Tensor | tf.GradSaveFunc,
  ) => {
    const xt = x as tf.Tensor;
    const p = perm as tf.Tensor1D;
    (save as tf.GradSaveFunc)([p]);
    return {
      value: tf.gather(xt, p, 0),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const saved0 = saved[0] as tf.Tensor1D;
        return [tf.gather(dy as tf.Tensor, inversePermutation(saved0), 0), tf.zeros(saved0.shape)];
      },
    };
  },
);

/** Row permutation `x[π]` that differentiates on every backend (see above). */
export function permuteRows<T extends tf.Tensor>(x: T, perm: tf.Tensor1D): T {
  return permute(x, perm) as T;
}
