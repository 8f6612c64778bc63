import { crossEntropy, RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type Tap, tap } from '../tap';
import { toLabelTensor } from './labels';

/**
 * Accuracy and mean CE of a tapped (or plain) model on `(x, y)` in inference mode, in batches of
 * `batchSize` (default 256); one read-back at the end. Labels: `[N]` integers or `[N, C]` one-hot.
 *
 * @throws RelkdError `EMPTY_BATCH` when `x` has no rows.
 * @example
 * ```ts
 * const { accuracy, loss } = await evaluateModel(student, xTest, yTest);
 * ```
 */
export async function evaluateModel(
  model: Tap | tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  batchSize = 256,
): Promise<{ accuracy: number; loss: number }> {
  const run = model instanceof tfl.LayersModel ? tap(model) : model;
  const n = x.shape[0];
  if (n === 0) throw new RelkdError('EMPTY_BATCH', 'evaluate: no examples.');
  let acc = tf.scalar(0);
  let loss = tf.scalar(0);
  for (let i = 0; i < n; i += batchSize) {
    const size = Math.min(batchSize, n - i);
    const [a, l] = tf.tidy(() => {
      const xb = tf.slice(x, i, size);
      const yb = toLabelTensor(tf.slice(y, i, size));
      const logits = run(xb).logits as tf.Tensor2D;
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yb), 'float32'));
      const ce = tf.mul(crossEntropy(logits, yb), size);
      return [tf.add(acc, correct), tf.add(loss, ce)];
    });
    acc.dispose();
    loss.dispose();
    acc = a as tf.Scalar;
    loss = l as tf.Scalar;
  }
  const both = tf.stack([acc, loss]);
  const [correct, total] = await both.data();
  both.dispose();
  acc.dispose();
  loss.dispose();
  return { accuracy: correct! / n, loss: total! / n };
}
