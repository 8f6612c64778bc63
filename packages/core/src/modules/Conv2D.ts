import * as tf from '@tensorflow/tfjs-core';
import { assertNumber } from '../validation/validation';
import { applyPadding, checkInput, type Padding } from './checkInput';
import { heNormalFanOut } from './initializers';
import { Module } from './Module';

/** Options of {@link Conv2D}. */
export interface Conv2DOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Default `1`. */
  stride?: number;
  /** A number pads H and W symmetrically by that many zeros (PyTorch's `padding=p`); or tfjs's `'same'`/`'valid'`. Default `0`. */
  padding?: Padding;
  /** Default `1`. */
  dilation?: number;
  /** Default `true` (PyTorch's default). */
  useBias?: boolean;
  /** Default `0`. */
  seed?: number;
  name?: string;
}

/**
 * 2-D convolution on NHWC input: `[B, H, W, inChannels] -> [B, H', W', outChannels]`, filter
 * `[k, k, in, out]`, He-normal (fan_out) init, zero bias. Explicit symmetric padding matches
 * PyTorch (`H' = floor((H + 2p − d(k−1) − 1)/s) + 1`).
 *
 * @example
 * ```ts
 * const conv = new Conv2D({ inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1, seed: 1 });
 * conv.apply(tf.zeros([2, 32, 32, 3])).shape; // [2, 32, 32, 16]
 * ```
 */
export class Conv2D extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  private readonly filter: tf.Variable;
  private readonly bias: tf.Variable | null;
  private readonly stride: number;
  private readonly padding: Padding;
  private readonly dilation: number;

  constructor(options: Conv2DOptions) {
    super(options.name ?? 'Conv2D');
    const {
      inChannels,
      outChannels,
      kernelSize,
      stride = 1,
      padding = 0,
      dilation = 1,
      useBias = true,
      seed = 0,
    } = options;
    assertNumber(inChannels, 'inChannels', { min: 1, integer: true });
    assertNumber(outChannels, 'outChannels', { min: 1, integer: true });
    assertNumber(kernelSize, 'kernelSize', { min: 1, integer: true });
    assertNumber(stride, 'stride', { min: 1, integer: true });
    assertNumber(dilation, 'dilation', { min: 1, integer: true });
    if (typeof padding === 'number') assertNumber(padding, 'padding', { min: 0, integer: true });
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.filter = this.addWeight(
      'kernel',
      heNormalFanOut(
        [kernelSize, kernelSize, inChannels, outChannels],
        outChannels * kernelSize * kernelSize,
        seed,
      ),
    );
    this.bias = useBias ? this.addWeight('bias', tf.zeros([outChannels])) : null;
  }

  protected forward(x: tf.Tensor): tf.Tensor {
    checkInput(x, 4, this.inChannels, this.name, 'NHWC [B, H, W, C]');
    const [input, pad] = applyPadding(x as tf.Tensor4D, this.padding, padSpatial);
    const y = tf.conv2d(input, this.filter as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/** Zero-pads H and W of an NHWC tensor by `p` on both sides. */
export function padSpatial(x: tf.Tensor4D, p: number): tf.Tensor4D {
  return tf.pad(x, [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ]);
}
