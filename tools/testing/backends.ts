import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@relkd/backend';
import { BACKENDS, type TestBackend } from './backendNames';

export { BACKENDS, type TestBackend };

/**
 * Selects `name` through `@relkd/backend` (which registers gradients and the fused loss kernels
 * and fills the WASM gradient gaps) and checks it took. Use in `beforeAll` of a
 * `describe.each(BACKENDS)` block. @relkd/core's own tests use `usePlainBackend` from
 * `@relkd/testing/plain` instead (core must not depend on @relkd/backend, not even in tests).
 */
export async function useTestBackend(name: TestBackend): Promise<void> {
  await useBackend(name);
  if (tf.getBackend() !== name)
    throw new Error(`backend ${name} did not activate (got ${tf.getBackend()})`);
}
