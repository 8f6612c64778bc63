import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertNumber, assertOneOf } from '../validation/validation';
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
    assertNumber(kernelSize, 'kernelSize', { min: 1, integer: true });
    assertNumber(stride, 'stride', { min: 1, integer: true });
    assertNumber(dilation, 'dilation', { min: 1, integer: true });
    if (typeof padding === 'number') assertNumber(padding, 'padding', { min: 0, integer: true });
    else assertOneOf(padding, ['same', 'valid'] as const, 'padding');
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
    checkInput(x, 4, this.inChannels, this.name, 'NHWC [B, H, W, C]');
    checkSpatial(x, this.kernelSize, this.dilation, this.padding, this.name);
    const [input, pad] = applyPadding(x as tf.Tensor4D, this.padding, padSpatial);
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

/**
 * Checks that the (padded) input is at least as large as the effective kernel `d(k−1)+1`, so a
 * too-small feature map gets a clear error instead of an empty output or a kernel message.
 * @throws RelkdError `SHAPE_MISMATCH`
 */
export function checkSpatial(
  x: tf.Tensor,
  kernelSize: number,
  dilation: number,
  padding: Padding,
  who: string,
): void {
  if (padding === 'same') return;
  const p = typeof padding === 'number' ? padding : 0;
  const effective = dilation * (kernelSize - 1) + 1;
  const [, h, w] = x.shape as number[];
  if (h! + 2 * p < effective || w! + 2 * p < effective) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who}: input H×W ${h}×${w} with padding ${p} is smaller than the effective kernel ${effective}×${effective}; ` +
        'use a larger input, more padding or a smaller kernel.',
      { shape: x.shape, kernelSize, dilation, padding: p },
    );
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
