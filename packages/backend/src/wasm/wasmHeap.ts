import type * as tf from '@tensorflow/tfjs-core';

/**
 * The part of tfjs-backend-wasm's backend object that the JavaScript kernels of this package use:
 * allocate an output on the wasm heap and view a tensor's heap memory in place. Internal.
 */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}
