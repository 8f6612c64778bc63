import * as tf from '@tensorflow/tfjs-core';
import { fusedLoss } from '../kernels/fusedLoss';
import { FUSED_SOFT_CE } from '../kernels/fusedLossKernels';
import { temperedLogSoftmax } from './logitPair';

/**
 * Internal: `−scale · Σ_b Σ_c q_bc · logSoftmax(z/T)_bc` with its closed-form gradient
 * `∂/∂z = scale/T · (softmax(z/T) · Σ_c q_bc − q)` and a zero gradient for the targets `q`.
 * Same values as composing the ops; the backward pass is a handful of kernels instead of
 * differentiating through the log-softmax (per-kernel cost dominates small losses on WASM).
 */
export function fusedSoftCe(
  z: tf.Tensor2D,
  q: tf.Tensor2D,
  temperature: number,
  scale: number,
): tf.Scalar {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [logits, targets, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    // A backend with the fused kernel (@relkd/backend: cpu, wasm): value and gradient in one pass.
    const fused = fusedLoss(FUSED_SOFT_CE, { z: logits, q: targets }, { temperature, scale }, save);
    if (fused !== undefined) return fused;
    const logP = temperedLogSoftmax(logits, temperature);
    const value = tf.mul(tf.sum(tf.mul(targets, logP)), -scale) as tf.Scalar;
    save([logP, targets]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedLogP, savedQ] = saved as [tf.Tensor2D, tf.Tensor2D];
        const rowMass = tf.sum(savedQ, 1, true);
        const dz = tf.mul(
          tf.sub(tf.mul(tf.exp(savedLogP), rowMass), savedQ),
          tf.mul(dy, scale / temperature),
        );
        return [dz, tf.zerosLike(savedQ)];
      },
    };
  }) as (logits: tf.Tensor2D, targets: tf.Tensor2D) => tf.Scalar;
  return f(z, q);
}
