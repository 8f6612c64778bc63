import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `fn(...inputs)` with no gradient path: the result is a constant for autodiff. The kernels
 * inside run in a `tf.customGrad` forward pass, so they are not recorded on the tape and their
 * temporaries are released at once; comparisons, `topk` and `scatterND` (which have no gradient
 * in tfjs) can then build masks from values that depend on the student.
 */
export function noGradN(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, inputs.length) as tf.Tensor[];
    return {
      value: fn(...xs),
      gradFunc: () => xs.map((x) => tf.zerosLike(x)),
    };
  });
  return f(...inputs);
}

/** One-input {@link noGradN}. */
export function noGrad(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor {
  return noGradN((a) => fn(a as tf.Tensor), [x]);
}

/** Two-input {@link noGradN}. */
export function noGrad2(
  fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
): tf.Tensor {
  return noGradN((x, y) => fn(x as tf.Tensor, y as tf.Tensor), [a, b]);
}
