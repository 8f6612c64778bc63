import * as tf from '@tensorflow/tfjs-core';

/** What a `tf.customGrad` body returns. */
interface CustomGradResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * The fused path of a two-input loss inside a `tf.customGrad` body: when the active backend has a
 * kernel named `kernelName` (outputs `[value, dValue/dInput0]`, see `FUSED_SOFTMAX_KL`), runs it,
 * saves the gradient and returns the body's result, whose backward is `dy · gradient` for the
 * first input and zeros for the second (targets / teacher). Returns `undefined` when the backend
 * has no such kernel: the caller composes tfjs-core ops instead. Core registers no kernel and
 * never reads a backend's storage. Internal.
 */
export function fusedLoss(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap,
  save: tf.GradSaveFunc,
): CustomGradResult | undefined {
  if (tf.getKernel(kernelName, tf.getBackend()) === undefined) return undefined;
  const [value, grad] = tf.engine().runKernel(kernelName, inputs, attrs) as [tf.Scalar, tf.Tensor];
  save([grad]);
  return {
    value,
    gradFunc: (dy, saved) => {
      const g = saved[0] as tf.Tensor;
      return [tf.mul(g, dy), tf.zerosLike(g)];
    },
  };
}
