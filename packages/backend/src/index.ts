/**
 * @relkd/backend: selects where tfjs runs (tfjs-node-gpu, tfjs-node, WASM, WebGPU, WebGL, CPU),
 * registers tfjs-core's gradients and relkd's fused loss kernels, and fills the WASM backend's
 * gradient gaps. Everything exported here (and from `@relkd/backend/gradients`) is semver-public;
 * the kernel tables behind it are not exported.
 *
 * @module @relkd/backend
 * @document ../README.md
 */

export { describeBackend } from './describeBackend';
export type { ModuleLoader } from './environment';
export { registerFusedKernels } from './fused/registerFusedKernels';
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
export { registerWasmGradientKernels } from './wasm/registerWasmGradientKernels';
export type { AdapterDetails } from './webgpu/adapterDetails';
