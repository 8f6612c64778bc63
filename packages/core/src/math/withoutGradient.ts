import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `fn(...inputs)` with no gradient path: the result is a constant for autodiff (a zero
 * gradient for every input). `fn` runs in a `tf.customGrad` forward pass, with the tape off, so
 * none of its kernels is recorded nor ever differentiated: comparisons, `topk`, `scatterND`
 * (no gradient in tfjs) or a row `gather` (no gradient kernel on WASM) can build masks and
 * targets from values that depend on the student or the teacher, also inside
 * `optimizer.minimize` without a var list. Only the inputs' shapes and dtypes are kept for the
 * backward pass, never the tensors (they may be disposed by then); the zero gradients are `Fill`
 * kernels on the active backend (no host-to-device upload).
 *
 * Shapes: any; `fn` returns one tensor. Internal (`@relkd/core/internal`); for a single tensor
 * that should pass through unchanged, use `stopGradient`.
 *
 * @example
 * ```ts
 * const mask = withoutGradient([s, t], (a, b) => tf.cast(tf.less(tf.abs(tf.sub(a, b)), 1), 'float32'));
 * ```
 */
export function withoutGradient(
  inputs: readonly tf.Tensor[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor,
): tf.Tensor {
  const specs = inputs.map((x) => ({ shape: x.shape, dtype: x.dtype }));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, inputs.length) as tf.Tensor[];
    return {
      value: fn(...xs),
      // A Fill kernel on the backend (tf.zeros would build the zeros on the host and upload them).
      gradFunc: () => specs.map(({ shape, dtype }) => tf.fill(shape, 0, dtype)),
    };
  });
  return f(...inputs);
}
