import type * as tf from '@tensorflow/tfjs-core';

/** What the shared-buffer `Identity` needs of tfjs-backend-wasm's backend: its reference count. */
interface RefCountedBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * `Identity` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original` (which copies the
 * whole tensor into a new heap buffer): the output shares the input's buffer (one more
 * reference), as the cpu backend's `Identity` and the wasm `Reshape` do; tfjs tensors are
 * immutable, so nothing can tell the two apart. tfjs-core dispatches `Identity` for every
 * `tf.clone`, and the gradient tape clones each tensor a kernel saves for its backward pass: a
 * small CNN's training step copied about 2 M floats (≈ 9 MB) per step through it. String tensors
 * keep the original kernel.
 */
export function identityKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as RefCountedBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}
