import type * as tf from '@tensorflow/tfjs-core';
import { assertNumber } from '../validation/validation';
import { ReLU } from './activations';
import { BatchNorm } from './BatchNorm';
import { Conv2D } from './Conv2D';
import { DepthwiseConv2D } from './DepthwiseConv2D';
import { childSeed } from './initializers';
import { Module } from './Module';

/** Options of {@link SepConv}. */
export interface SepConvOptions {
  inChannels: number;
  outChannels: number;
  /** Stride of the first depthwise convolution. Default `2` (halves H and W). */
  stride?: number;
  /** Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * The SepConv block of stage heads (MTKD-SSR) and relation networks (CORSD), NHWC:
 * depthwise 3×3 (stride s, pad 1) → 1×1 (in→in) → BN → ReLU → depthwise 3×3 (stride 1, pad 1)
 * → 1×1 (in→out) → BN → ReLU. Convolutions have no bias.
 * `[B, H, W, in] -> [B, ceil(H/s), ceil(W/s), out]`.
 *
 * @example
 * ```ts
 * new SepConv({ inChannels: 16, outChannels: 32 }).apply(tf.zeros([2, 8, 8, 16])).shape; // [2, 4, 4, 32]
 * ```
 */
export class SepConv extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  private readonly body: Module[];

  constructor(options: SepConvOptions) {
    super(options.name ?? 'SepConv');
    const { inChannels, outChannels, stride = 2, seed = 0 } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(outChannels, 'outChannels', { min: 1, integer: true });
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    const s = (i: number): number => childSeed(seed, i);
    this.body = [
      this.addModule(
        'dw1',
        new DepthwiseConv2D({
          channels: inChannels,
          kernelSize: 3,
          stride,
          padding: 1,
          seed: s(0),
        }),
      ),
      this.addModule(
        'pw1',
        new Conv2D({
          inChannels,
          outChannels: inChannels,
          kernelSize: 1,
          useBias: false,
          seed: s(1),
        }),
      ),
      this.addModule('bn1', new BatchNorm({ channels: inChannels })),
      this.addModule('relu1', new ReLU()),
      this.addModule(
        'dw2',
        new DepthwiseConv2D({
          channels: inChannels,
          kernelSize: 3,
          stride: 1,
          padding: 1,
          seed: s(2),
        }),
      ),
      this.addModule(
        'pw2',
        new Conv2D({ inChannels, outChannels, kernelSize: 1, useBias: false, seed: s(3) }),
      ),
      this.addModule('bn2', new BatchNorm({ channels: outChannels })),
      this.addModule('relu2', new ReLU()),
    ];
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.body.reduce((h, m) => m.apply(h, { training }), x);
  }
}
