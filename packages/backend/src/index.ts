export { registerGradients } from './registerGradients';
export { useBackend, type BackendInfo, type BackendName, type UseBackendOptions } from './useBackend';
