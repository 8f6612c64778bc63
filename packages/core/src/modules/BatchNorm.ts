import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../kernels/batchNormKernels';
import { assertNumber } from '../validation/validation';
import { checkModuleInput } from './checkInput';
import { Module } from './Module';

/** Options of {@link BatchNorm}. */
export interface BatchNormOptions {
  channels: number;
  /** Running statistics: `running = momentum·running + (1 − momentum)·batch`. Default `0.9` (= PyTorch momentum 0.1). */
  momentum?: number;
  /** Added to the variance. Default `1e-5`. */
  epsilon?: number;
  name?: string;
}

/**
 * Batch normalisation over every axis but the last (channels), for `[B, C]` or NHWC input.
 * Training: normalises with the batch mean and biased variance and updates the running mean and
 * the running *unbiased* variance (PyTorch convention). Inference: uses the running statistics.
 * Variables: `gamma`, `beta` (trainable), `movingMean`, `movingVariance` (state).
 *
 * In training mode, when the active backend registers the kernels `RelkdBatchNormTrain` and
 * `RelkdBatchNormTrainGrad` (@relkd/backend does on wasm), the normalisation runs as those two
 * kernels inside a `tf.customGrad`, with the same bits as the composed ops; its input's gradient
 * then arrives as one sum, so the input should have no other consumer recorded after it.
 *
 * Defaults: `momentum = 0.9`, `epsilon = 1e-5`.
 *
 * @example
 * ```ts
 * const bn = new BatchNorm({ channels: 16 });
 * bn.apply(x, { training: true }); // updates running statistics
 * bn.apply(x);                     // inference mode
 * ```
 */
export class BatchNorm extends Module {
  readonly channels: number;
  readonly momentum: number;
  readonly epsilon: number;
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  private readonly movingMean: tf.Variable;
  private readonly movingVariance: tf.Variable;

  constructor(options: BatchNormOptions) {
    super(options.name ?? 'BatchNorm');
    const { channels, momentum = 0.9, epsilon = 1e-5 } = options;
    assertNumber(channels, 'channels', { min: 1, integer: true });
    assertNumber(momentum, 'momentum', { min: 0, max: 1 });
    assertNumber(epsilon, 'epsilon', { min: 0 });
    this.channels = channels;
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.gamma = this.addWeight('gamma', tf.ones([channels]));
    this.beta = this.addWeight('beta', tf.zeros([channels]));
    this.movingMean = this.addWeight('movingMean', tf.zeros([channels]), false);
    this.movingVariance = this.addWeight('movingVariance', tf.ones([channels]), false);
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    if (x.rank !== 2)
      checkModuleInput(x, 4, this.channels, this.name, '[B, C] or NHWC [B, H, W, C]');
    else checkModuleInput(x, 2, this.channels, this.name, '[B, C] or NHWC [B, H, W, C]');
    const axes = x.rank === 2 ? [0] : [0, 1, 2];
    if (!training) {
      return tf.batchNorm(
        x,
        this.movingMean,
        this.movingVariance,
        this.beta,
        this.gamma,
        this.epsilon,
      );
    }
    const fused = this.fusedTraining(x);
    const { mean, variance } = fused ?? tf.moments(x, axes);
    const n = x.size / this.channels;
    const m = this.momentum;
    this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(mean, 1 - m)));
    const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
    this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(unbiased, 1 - m)));
    if (fused !== undefined) {
      tf.dispose([mean, variance]);
      return fused.out;
    }
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon)));
    return tf.add(tf.mul(normed, this.gamma), this.beta);
  }

  /**
   * The training-mode forward as one `RelkdBatchNormTrain` kernel inside a `tf.customGrad` whose
   * backward is one `RelkdBatchNormTrainGrad` kernel, when the active backend registers both
   * (`@relkd/backend` does on wasm; same bits as the composed ops there); `undefined` otherwise.
   * `mean` and `variance` are kept outside every scope: the caller disposes them.
   */
  private fusedTraining(
    x: tf.Tensor,
  ): { out: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } | undefined {
    const backend = tf.getBackend();
    if (
      x.dtype !== 'float32' ||
      tf.getKernel(BATCH_NORM_TRAIN, backend) === undefined ||
      tf.getKernel(BATCH_NORM_TRAIN_GRAD, backend) === undefined
    ) {
      return undefined;
    }
    const attrs = { epsilon: this.epsilon };
    let stats: [tf.Tensor, tf.Tensor] | undefined;
    const run = tf.customGrad((...args: unknown[]) => {
      const [input, gamma, beta] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
      const save = args[3] as tf.GradSaveFunc;
      const [out, mean, variance] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN, { x: input, gamma, beta }, attrs) as tf.Tensor[];
      stats = [tf.keep(mean as tf.Tensor), tf.keep(variance as tf.Tensor)];
      save([input, gamma, mean as tf.Tensor, variance as tf.Tensor]);
      return {
        value: out as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sGamma, sMean, sVariance] = saved as [
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
            tf.Tensor,
          ];
          return tf
            .engine()
            .runKernel(
              BATCH_NORM_TRAIN_GRAD,
              { dy, x: sx, gamma: sGamma, mean: sMean, variance: sVariance },
              attrs,
            ) as tf.Tensor[];
        },
      };
    });
    const out = run(x, this.gamma, this.beta);
    const [mean, variance] = stats as [tf.Tensor, tf.Tensor];
    return { out, mean, variance };
  }
}
