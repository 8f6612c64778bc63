import type * as tf from '@tensorflow/tfjs-core';
import { Conv2D } from './Conv2D';
import type { Padding } from './checkInput';
import { DepthwiseConv2D } from './DepthwiseConv2D';
import { childSeed } from './initializers';
import { Module } from './Module';

/** Options of {@link SeparableConv2D}. */
export interface SeparableConv2DOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Stride of the depthwise step. Default `1`. */
  stride?: number;
  /** Padding of the depthwise step (number = symmetric zeros). Default `0`. */
  padding?: Padding;
  /** Default `1`. */
  depthMultiplier?: number;
  /** Bias on the pointwise step. Default `false`. */
  useBias?: boolean;
  /** Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * Depthwise `k×k` convolution followed by a pointwise `1×1` convolution (NHWC):
 * `[B, H, W, inChannels] -> [B, H', W', outChannels]`. Variables: `depthwise/kernel`,
 * `pointwise/kernel` (and `pointwise/bias`).
 *
 * @example
 * ```ts
 * const sep = new SeparableConv2D({ inChannels: 16, outChannels: 32, kernelSize: 3, stride: 2, padding: 1 });
 * sep.apply(tf.zeros([1, 8, 8, 16])).shape; // [1, 4, 4, 32]
 * ```
 */
export class SeparableConv2D extends Module {
  private readonly depthwise: DepthwiseConv2D;
  private readonly pointwise: Conv2D;

  constructor(options: SeparableConv2DOptions) {
    super(options.name ?? 'SeparableConv2D');
    const {
      inChannels,
      outChannels,
      kernelSize,
      stride = 1,
      padding = 0,
      depthMultiplier = 1,
      useBias = false,
      seed = 0,
    } = options;
    this.depthwise = this.addModule(
      'depthwise',
      new DepthwiseConv2D({
        channels: inChannels,
        kernelSize,
        stride,
        padding,
        depthMultiplier,
        seed: childSeed(seed, 0),
      }),
    );
    this.pointwise = this.addModule(
      'pointwise',
      new Conv2D({
        inChannels: inChannels * depthMultiplier,
        outChannels,
        kernelSize: 1,
        useBias,
        seed: childSeed(seed, 1),
      }),
    );
  }

  protected forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.pointwise.apply(this.depthwise.apply(x, { training }), { training });
  }
}
