import { withoutGradient } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The `'mixedTeacherSoft'` target and its `q·log q` term, both without gradient:
 * `q = λ·softmax(t/τ) + (1 − λ)·softmax(t[π]/τ)` and `xlogy(q, q)` (0 where q = 0; the log's
 * argument is masked to 1 there, so no log 0 is ever taken).
 * `lam` is a scalar (per batch) or `[B, 1]` (per sample); `perm` int32 `[B]`.
 */
export function mixedTeacherTarget(
  teacher: tf.Tensor2D,
  lam: tf.Tensor,
  perm: tf.Tensor1D,
  temperature: number,
): { q: tf.Tensor2D; qLogQ: tf.Tensor2D } {
  const c = teacher.shape[1];
  const both = withoutGradient([teacher, lam, perm], (t, l, p) => {
    const probs = tf.softmax(temperature === 1 ? t! : tf.mul(t!, 1 / temperature));
    const q = tf.add(tf.mul(l!, probs), tf.mul(tf.sub(1, l!), tf.gather(probs, p!, 0)));
    const positive = tf.greater(q, 0);
    const qLogQ = tf.where(
      positive,
      tf.mul(q, tf.log(tf.where(positive, q, tf.onesLike(q)))),
      tf.zerosLike(q),
    );
    return tf.concat([q, qLogQ], 1);
  });
  const [q, qLogQ] = tf.split(both, [c, c], 1) as [tf.Tensor2D, tf.Tensor2D];
  return { q, qLogQ };
}
