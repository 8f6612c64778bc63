/**
 * `@relkd/backend/gradients`: importing this entry registers tfjs-core's gradients, the WASM
 * gradient kernels and the fused loss kernels (cpu, wasm) as a side effect, for applications
 * that select their backend with `tf.setBackend` themselves instead of `useBackend`.
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
import { registerFusedKernels } from './fused/registerFusedKernels';
import { registerGradients } from './registerGradients';
import { registerWasmGradientKernels } from './wasm/registerWasmGradientKernels';

registerGradients();
registerWasmGradientKernels();
registerFusedKernels();

export { fixWasmOneHot } from './wasm/oneHot';
export { registerFusedKernels, registerGradients, registerWasmGradientKernels };
