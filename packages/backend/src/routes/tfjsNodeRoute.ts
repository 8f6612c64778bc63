import { attemptNative } from './nativeRoute';
import type { Route } from './route';

/** `@tensorflow/tfjs-node`: native TensorFlow on the CPU, Node only. */
export const tfjsNodeRoute: Route = {
  id: 'node',
  attempt: (context) => attemptNative('node', context),
};
