import type * as tf from '@tensorflow/tfjs-core';

/** What the shared-buffer `Cast` needs of tfjs-backend-wasm's backend: its reference count. */
interface RefCountedBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * `Cast` for the wasm backend, wrapping tfjs-backend-wasm 4.22's `original`, which copies its
 * input into a new heap buffer even when the dtype does not change. A cast to the input's own
 * dtype now shares the input's buffer (one more reference, as the shared-buffer `Identity` does):
 * the same values, no copy. tfjs-core's ReLU gradient is `dy · cast(step(x), 'float32')`, a
 * float32 → float32 cast of every ReLU's input in every training step. Casts that change the
 * dtype (and string tensors) keep the original kernel.
 *
 * @example
 * ```ts
 * const y = tf.cast(x, x.dtype); // no copy on wasm: y shares x's buffer
 * ```
 */
export function castKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (x.dtype !== dtype || dtype === 'string') return original(args);
    (args.backend as unknown as RefCountedBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype };
  };
}
