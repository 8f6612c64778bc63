import * as tf from '@tensorflow/tfjs-core';
import { assertNumber } from '../validation/validation';
import { assertConvGeometry, type Padding, padSpatial, prepareConvInput } from './checkInput';

export { padSpatial } from './checkInput';

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
 * PyTorch (`H' = floor((H + 2p − d(k−1) − 1)/s) + 1`). Any stride combines with any dilation
 * (dilation is applied by spreading the filter, so it differentiates on every backend).
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
  private readonly kernelSize: number;

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
    assertConvGeometry(kernelSize, stride, padding, dilation);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.kernelSize = kernelSize;
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
    const [input, pad] = prepareConvInput(
      x,
      this.inChannels,
      this.kernelSize,
      this.dilation,
      this.padding,
      this.name,
    );
    if (this.kernelSize === 1 && this.stride === 1) {
      // A 1x1 stride-1 convolution is a matrix product over the channel axis: same values, and
      // its gradient avoids the cpu backend's slow Conv2DBackpropFilter (element-wise loops).
      // (Padding a 1x1 convolution only adds bias-only borders: pad the input explicitly.)
      const padded = typeof pad === 'number' ? padSpatial(input, pad) : input;
      const [b, h, w, c] = padded.shape;
      const flat = tf.reshape(padded, [b * h * w, c]);
      const kernel = tf.reshape(this.filter, [c, this.outChannels]);
      const y = tf.reshape(tf.matMul(flat, kernel), [b, h, w, this.outChannels]);
      return this.bias ? tf.add(y, this.bias) : y;
    }
    // tfjs has no gradient for dilated conv2d (and no stride with dilation): dilate the filter
    // explicitly instead (zeros between taps), which is exact and differentiable.
    const filter =
      this.dilation > 1
        ? dilateFilter(this.filter as tf.Tensor4D, this.dilation)
        : (this.filter as tf.Tensor4D);
    const y = tf.conv2d(input, filter, this.stride, pad, 'NHWC');
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/**
 * Inserts `d − 1` zeros between the taps of a `[k, k, in, out]` filter along both spatial axes:
 * `[d(k−1)+1, d(k−1)+1, in, out]`. A convolution with it equals the dilated convolution.
 */
function dilateFilter(w: tf.Tensor4D, d: number): tf.Tensor4D {
  const [k, , cin, cout] = w.shape;
  const size = d * (k - 1) + 1;
  // rows: [k, k, in, out] -> [k, d, k, in, out] (zeros after each row) -> [k·d, k, in, out]
  let f: tf.Tensor = tf.pad(tf.expandDims(w, 1), [
    [0, 0],
    [0, d - 1],
    [0, 0],
    [0, 0],
    [0, 0],
  ]);
  f = tf.slice(tf.reshape(f, [k * d, k, cin, cout]), [0, 0, 0, 0], [size, k, cin, cout]);
  // columns: [size, k, in, out] -> [size, k, d, in, out] -> [size, k·d, in, out]
  f = tf.pad(tf.expandDims(f, 2), [
    [0, 0],
    [0, 0],
    [0, d - 1],
    [0, 0],
    [0, 0],
  ]);
  return tf.slice(
    tf.reshape(f, [size, k * d, cin, cout]),
    [0, 0, 0, 0],
    [size, size, cin, cout],
  ) as tf.Tensor4D;
}
