/**
 * `@relkd/backend/gradients`: importing this entry registers tfjs-core's gradients and the WASM
 * gradient kernels as a side effect, for applications that select their backend with
 * `tf.setBackend` themselves instead of `useBackend`.
 *
 * @example
 * ```ts
 * import { fixWasmOneHot } from '@relkd/backend/gradients';
 * import '@tensorflow/tfjs-backend-wasm';
 * await tf.setBackend('wasm');
 * fixWasmOneHot(); // float32 tf.oneHot on tfjs-backend-wasm 4.22 (see the README)
 * ```
 * @module @relkd/backend/gradients
 */
import { registerGradients } from './registerGradients';
import { registerWasmGradientKernels } from './wasm/registerWasmGradientKernels';

registerGradients();
registerWasmGradientKernels();

export { fixWasmOneHot } from './wasm/oneHot';
export { registerGradients, registerWasmGradientKernels };
