import type * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '../errors/RelkdError';
import { assertRank, formatShape } from '../validation/validation';

/** Checks a module input: rank and last-axis width. Internal helper of the built-in modules. */
export function checkInput(
  x: tf.Tensor,
  rank: number,
  channels: number,
  who: string,
  layout: string,
): void {
  assertRank(x, rank, `${who} input`, layout);
  if (x.shape[rank - 1] !== channels) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who} expects ${channels} input channels (last axis), got shape ${formatShape(x.shape)}.`,
      { expected: channels, actual: x.shape },
    );
  }
}

/** Symmetric spatial padding: a number `p` pads H and W by `p` on both sides; strings pass through. */
export type Padding = number | 'same' | 'valid';

/** Applies explicit symmetric padding (PyTorch's `padding=p`) and returns the tfjs pad mode to use. */
export function applyPadding(
  x: tf.Tensor4D,
  padding: Padding,
  pad: (x: tf.Tensor4D, p: number) => tf.Tensor4D,
): [tf.Tensor4D, 'same' | 'valid'] {
  if (typeof padding === 'number') return [padding > 0 ? pad(x, padding) : x, 'valid'];
  return [x, padding];
}
