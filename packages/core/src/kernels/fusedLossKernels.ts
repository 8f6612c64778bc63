/**
 * Kernel name of the fused tempered-softmax KL loss. Contract for a backend that registers it:
 * inputs `s`, `t` (float32 `[B, C]`), attributes `temperature` (`T > 0`) and `scale`; outputs
 * `[value, ds]` where `value = scale · Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))` (scalar) and
 * `ds = scale/T · (softmax(s/T) − softmax(t/T))` (`[B, C]`). `klDivergence` and `kdLoss` run it
 * when `tf.getKernel(FUSED_SOFTMAX_KL, tf.getBackend())` finds one (@relkd/backend registers it for
 * cpu and wasm); otherwise they compose tfjs-core ops with the same closed-form gradient.
 * Internal (`@relkd/core/internal`).
 */
export const FUSED_SOFTMAX_KL = 'RelkdSoftmaxKl';

/**
 * Kernel name of the fused soft-target cross-entropy. Contract: inputs `z`, `q` (float32
 * `[B, C]`), attributes `temperature` (`T > 0`) and `scale`; outputs `[value, dz]` where
 * `value = −scale · Σ_b Σ_c q_bc · logSoftmax(z_b/T)_c` (scalar) and
 * `dz = scale/T · (softmax(z/T) · Σ_c q_bc − q)` (`[B, C]`). `crossEntropy` and
 * `softCrossEntropy` run it when the active backend has it, else compose ops.
 * Internal (`@relkd/core/internal`).
 */
export const FUSED_SOFT_CE = 'RelkdSoftCrossEntropy';

/** The fused loss kernel names core looks up, for a backend that implements them. Internal. */
export const FUSED_LOSS_KERNELS = [FUSED_SOFTMAX_KL, FUSED_SOFT_CE] as const;
