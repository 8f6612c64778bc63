import { assertRank, formatShape, RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

/** Internal: a module input is a live float32 NHWC tensor with `channels` on the last axis. */
export function checkStageInput(
  x: unknown,
  channels: number,
  who: string,
): asserts x is tf.Tensor4D {
  if (!(x instanceof tf.Tensor)) {
    throw new RelkdError('INVALID_OPTION', `${who} input must be a tf.Tensor, got ${typeof x}.`);
  }
  if (x.dtype !== 'float32') {
    throw new RelkdError('DTYPE_MISMATCH', `${who} input must be float32, got ${x.dtype}.`);
  }
  assertRank(x, 4, `${who} input`, 'NHWC [B, H, W, C]');
  if (x.shape[3] !== channels) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${who} expects ${channels} input channels (last axis of NHWC), got shape ${formatShape(x.shape)}.`,
      { expected: channels, actual: x.shape },
    );
  }
}
