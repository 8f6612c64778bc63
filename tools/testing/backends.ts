import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@relkd/backend';

/** The backends every loss is tested on in Node. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof BACKENDS)[number];

/**
 * Selects `name` through `@relkd/backend` (which registers gradients and fills the WASM
 * gradient gaps) and checks it took. Use in `beforeAll` of a `describe.each(BACKENDS)` block.
 */
export async function useTestBackend(name: TestBackend): Promise<void> {
  await useBackend(name);
  if (tf.getBackend() !== name)
    throw new Error(`backend ${name} did not activate (got ${tf.getBackend()})`);
}
