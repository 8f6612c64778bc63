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
