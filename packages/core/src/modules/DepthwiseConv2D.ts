import * as tf from '@tensorflow/tfjs-core';
import { assertNumber } from '../validation/validation';
import { assertConvGeometry, type Padding, prepareConvInput } from './checkInput';
import { heNormalFanOut } from './initializers';
import { Module } from './Module';

/** Options of {@link DepthwiseConv2D}. */
export interface DepthwiseConv2DOptions {
  channels: number;
  kernelSize: number;
  /** Default `1`. */
  stride?: number;
  /** Symmetric zero padding (number) or `'same'`/`'valid'`. Default `0`. */
  padding?: Padding;
  /** Output channels per input channel. Default `1`. */
  depthMultiplier?: number;
  /** Default `false`. */
  useBias?: boolean;
  /** Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * Depthwise 2-D convolution (PyTorch `Conv2d(C, C·m, k, groups=C)`) on NHWC input:
 * `[B, H, W, C] -> [B, H', W', C·m]`, filter `[k, k, C, m]`, He-normal (fan_out = C·m·k²) init.
 *
 * @example
 * ```ts
 * new DepthwiseConv2D({ channels: 8, kernelSize: 3, stride: 2, padding: 1 }).apply(tf.zeros([1, 8, 8, 8])).shape; // [1, 4, 4, 8]
 * ```
 */
export class DepthwiseConv2D extends Module {
  readonly channels: number;
  readonly outChannels: number;
  private readonly filter: tf.Variable;
  private readonly bias: tf.Variable | null;
  private readonly stride: number;
  private readonly padding: Padding;
  private readonly kernelSize: number;

  constructor(options: DepthwiseConv2DOptions) {
    super(options.name ?? 'DepthwiseConv2D');
    const {
      channels,
      kernelSize,
      stride = 1,
      padding = 0,
      depthMultiplier = 1,
      useBias = false,
      seed = 0,
    } = options;
    assertNumber(channels, 'channels', { min: 1, integer: true });
    assertConvGeometry(kernelSize, stride, padding);
    assertNumber(depthMultiplier, 'depthMultiplier', { min: 1, integer: true });
    this.channels = channels;
    this.outChannels = channels * depthMultiplier;
    this.stride = stride;
    this.padding = padding;
    this.kernelSize = kernelSize;
    this.filter = this.addWeight(
      'kernel',
      heNormalFanOut(
        [kernelSize, kernelSize, channels, depthMultiplier],
        this.outChannels * kernelSize * kernelSize,
        seed,
      ),
    );
    this.bias = useBias ? this.addWeight('bias', tf.zeros([this.outChannels])) : null;
  }

  protected forward(x: tf.Tensor): tf.Tensor {
    const [input, pad] = prepareConvInput(
      x,
      this.channels,
      this.kernelSize,
      1,
      this.padding,
      this.name,
    );
    const y = tf.depthwiseConv2d(input, this.filter as tf.Tensor4D, this.stride, pad);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
