/**
 * @relkd/backend: selects where tfjs runs (tfjs-node-gpu, tfjs-node, WASM, WebGPU, WebGL, CPU),
 * registers tfjs-core's gradients and fills the WASM backend's gradient gaps.
 *
 * @module @relkd/backend
 * @document ../README.md
 */

export { describeBackend } from './describeBackend';
export type { ModuleLoader } from './environment';
export { registerGradients } from './registerGradients';
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  getBackendInfo,
  type SelectedBackendName,
  type UseBackendOptions,
  useBackend,
} from './useBackend';
export { fixWasmOneHot } from './wasm/oneHot';
export {
  registerWasmGradientKernels,
  WASM_FASTER_KERNELS,
  WASM_GRADIENT_KERNELS,
} from './wasm/registerWasmGradientKernels';
export type { AdapterDetails } from './webgpu/adapterDetails';
