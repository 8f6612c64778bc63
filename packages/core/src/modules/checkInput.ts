import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertNumber, assertOneOf, assertRank, formatShape } from '../validation/validation';

/**
 * Checks the input of a {@link Module}'s `forward`: a live float32 tensor of rank `rank` whose
 * last axis has `channels` entries. The built-in modules call it first; modules written in other
 * packages should too, so a wrong input gets a `RelkdError` naming the module instead of a kernel
 * error (or a silently wrong broadcast).
 *
 * @param who the module's name, for the message (e.g. `this.name`)
 * @param layout the expected layout, for the message (e.g. `'NHWC [B, H, W, C]'`)
 * @throws RelkdError `INVALID_OPTION` (not a tensor, disposed), `DTYPE_MISMATCH` (not float32),
 *   `RANK_MISMATCH`, `SHAPE_MISMATCH` (last axis)
 * @example
 * ```ts
 * protected forward(x: tf.Tensor): tf.Tensor {
 *   checkModuleInput(x, 4, this.inChannels, this.name, 'NHWC [B, H, W, C]');
 *   return this.conv.apply(x);
 * }
 * ```
 */
export function checkModuleInput(
  x: unknown,
  rank: number,
  channels: number,
  who: string,
  layout: string,
): asserts x is tf.Tensor {
  if (x instanceof tf.Tensor && !x.isDisposed && x.dtype !== 'float32') {
    throw new RelkdError(
      'DTYPE_MISMATCH',
      `${who} input must be float32, got ${x.dtype}. Cast it with \`tf.cast(x, 'float32')\`.`,
      { name: `${who} input`, expected: 'float32', actual: x.dtype },
    );
  }
  assertRank(x as tf.Tensor, rank, `${who} input`, layout);
  const { shape } = x as tf.Tensor;
  if (shape[rank - 1] !== channels) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who} expects ${channels} input channels (last axis), got shape ${formatShape(shape)}.`,
      { expected: channels, actual: shape },
    );
  }
}

/** Symmetric spatial padding: a number `p` pads H and W by `p` on both sides; strings pass through. */
export type Padding = number | 'same' | 'valid';

/**
 * Checks the geometry options of the convolution modules: `kernelSize`, `stride`, `dilation`
 * integers `>= 1`, `padding` an integer `>= 0` or `'same'`/`'valid'`. Internal.
 * @throws RelkdError `INVALID_OPTION`
 */
export function assertConvGeometry(
  kernelSize: unknown,
  stride: unknown,
  padding: unknown,
  dilation: unknown = 1,
): asserts padding is Padding {
  assertNumber(kernelSize, 'kernelSize', { min: 1, integer: true });
  assertNumber(stride, 'stride', { min: 1, integer: true });
  assertNumber(dilation, 'dilation', { min: 1, integer: true });
  if (typeof padding === 'number') assertNumber(padding, 'padding', { min: 0, integer: true });
  else assertOneOf(padding, ['same', 'valid'] as const, 'padding');
}

/**
 * Checks an NHWC convolution input (channels, and H×W against the effective kernel) and returns
 * it with the tfjs pad argument to convolve it with: explicit symmetric padding (PyTorch's
 * `padding=p`) is passed to the convolution as the number `p` (tfjs pads `p` zeros on every
 * side inside the kernel: the same values as `padSpatial` then `'valid'`, without a `PadV2`
 * kernel forward and its `Slice` gradient backward); `0` becomes `'valid'`. Internal helper of
 * `Conv2D` and `DepthwiseConv2D`.
 */
export function prepareConvInput(
  x: tf.Tensor,
  channels: number,
  kernelSize: number,
  dilation: number,
  padding: Padding,
  who: string,
): [tf.Tensor4D, 'same' | 'valid' | number] {
  checkModuleInput(x, 4, channels, who, 'NHWC [B, H, W, C]');
  checkSpatial(x, kernelSize, dilation, padding, who);
  if (typeof padding === 'number') return [x as tf.Tensor4D, padding > 0 ? padding : 'valid'];
  return [x as tf.Tensor4D, padding];
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
