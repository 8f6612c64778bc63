import { BatchNorm, Conv2D, Module, ReLU } from '@relkd/core';
import { assertNumber, checkModuleInput, childSeed } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';

/** Options of {@link ChannelAdapter}. */
export interface ChannelAdapterOptions {
  /** Seed of the 1×1 kernel's He-normal initialiser. Default `0`. */
  seed?: number;
  /** BatchNorm momentum of the running statistics. Default `0.9` (PyTorch 0.1). */
  momentum?: number;
  /** BatchNorm epsilon. Default `1e-5`. */
  epsilon?: number;
  name?: string;
}

/**
 * The student-side adapter of stage-wise channel distillation (Channel Distillation's
 * `conv1x1_bn`): 1×1 convolution without bias → BatchNorm → ReLU, mapping the student's stage
 * width to the teacher's. NHWC `[B, H, W, inChannels] -> [B, H, W, outChannels]`.
 *
 * Variables (paths): `conv/kernel [1, 1, in, out]` (He-normal fan_out, seeded), `bn/gamma`,
 * `bn/beta`, and the BatchNorm running statistics `bn/movingMean`, `bn/movingVariance` (state).
 * `apply(x, { training: true })` normalises with batch statistics and updates the running ones;
 * the default (inference) uses the running statistics. Save/load through `saveWeights()` /
 * `loadWeights()` of core's `Module`.
 *
 * @throws RelkdError `INVALID_OPTION` (bad sizes); at `apply`: `RANK_MISMATCH` (not NHWC),
 *   `SHAPE_MISMATCH` (wrong input width)
 * @example
 * ```ts
 * const adapter = new ChannelAdapter(32, 64, { seed: 1 });
 * const adapted = adapter.apply(studentStage2, { training: true }); // [B, H, W, 64]
 * const scd = channelDistillationLoss([adapted], [teacherStage2]);
 * ```
 */
export class ChannelAdapter extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  private readonly conv: Conv2D;
  private readonly bn: BatchNorm;
  private readonly relu: ReLU;

  constructor(inChannels: number, outChannels: number, options: ChannelAdapterOptions = {}) {
    super(options.name ?? 'ChannelAdapter');
    const { seed = 0, momentum = 0.9, epsilon = 1e-5 } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(outChannels, 'outChannels', { min: 1, integer: true });
    assertNumber(seed, 'options.seed', { integer: true });
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.conv = this.addModule(
      'conv',
      new Conv2D({
        inChannels,
        outChannels,
        kernelSize: 1,
        useBias: false,
        seed: childSeed(seed, 0),
      }),
    );
    this.bn = this.addModule('bn', new BatchNorm({ channels: outChannels, momentum, epsilon }));
    this.relu = this.addModule('relu', new ReLU());
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    checkModuleInput(x, 4, this.inChannels, this.name, 'NHWC [B, H, W, C]');
    const h = this.bn.apply(this.conv.apply(x, { training }), { training });
    return this.relu.apply(h);
  }
}
