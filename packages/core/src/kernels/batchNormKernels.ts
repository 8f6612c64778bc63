/**
 * Kernel name of the training-mode batch normalisation forward of @relkd/core's `BatchNorm`.
 * Contract for a backend that registers it: inputs `x` (float32 `[B, C]` or NHWC `[B, H, W, C]`,
 * `n = x.size / C` rows), `gamma`, `beta` (float32 `[C]`); attribute `epsilon`; outputs
 * `[out, mean, variance]` (`x`'s shape, `[C]`, `[C]`), each bit-identical, on that backend, to what
 * the composed chain `tf.moments(x, axes)` then `((x − mean) / √(variance + ε))·γ + β` gives there.
 * `BatchNorm` runs it (inside a `tf.customGrad` whose backward is {@link BATCH_NORM_TRAIN_GRAD})
 * when `tf.getKernel` finds both names for the active backend; otherwise it composes tfjs-core ops.
 * Internal (`@relkd/core/internal`).
 */
export const BATCH_NORM_TRAIN = 'RelkdBatchNormTrain';

/**
 * Kernel name of the backward of {@link BATCH_NORM_TRAIN}. Contract: inputs `dy` (`x`'s shape),
 * `x`, `gamma`, `mean`, `variance` (the forward's outputs); attribute `epsilon`; outputs
 * `[dx, dGamma, dBeta]`, bit-identical to the gradients tfjs-core's tape computes through the
 * composed chain on that backend (its three contributions to `dx` summed in the tape's order),
 * provided `x` has no other consumer recorded after the BatchNorm. Internal.
 */
export const BATCH_NORM_TRAIN_GRAD = 'RelkdBatchNormTrainGrad';
