import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterKernel } from './conv2DBackpropFilter';
import { depthwiseConv2dNativeBackpropFilterKernel } from './depthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputKernel } from './depthwiseConv2dNativeBackpropInput';
import { unsortedSegmentSumKernel } from './unsortedSegmentSum';

/** The kernels @relkd/backend adds to the wasm backend, by tfjs kernel name. */
export const WASM_GRADIENT_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilterKernel,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInputKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel,
};

/**
 * Registers, for the `wasm` backend, the kernels that tfjs-backend-wasm 4.22 lacks and that
 * training needs: `Conv2DBackpropFilter` (conv2d filter gradient),
 * `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput` (depthwise conv
 * gradients) and `UnsortedSegmentSum` (gather gradient). Each is composed of existing wasm kernels.
 * A kernel that is already registered (e.g. by a newer tfjs-backend-wasm) is left alone.
 * Idempotent; does not need the wasm backend to be imported. Returns the names it registered.
 *
 * `useBackend` calls it; call it yourself only if you select the backend with `tf.setBackend`.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * registerGradients();
 * registerWasmGradientKernels();
 * await tf.setBackend('wasm');
 * ```
 */
export function registerWasmGradientKernels(): string[] {
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(WASM_GRADIENT_KERNELS)) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) {
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
      added.push(kernelName);
    }
  }
  return added;
}
