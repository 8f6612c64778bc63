import { attemptNative } from './nativeRoute';
import type { Route } from './route';

/** `@tensorflow/tfjs-node-gpu` (CUDA 11.2 / cuDNN 8.1, Linux x86_64), Node only. */
export const tfjsNodeGpuRoute: Route = {
  id: 'nodeGpu',
  attempt: (context) => attemptNative('nodeGpu', context),
};
