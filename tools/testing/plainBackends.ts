import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own gradient registrations (importable under Vitest, not from plain Node ESM).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { BACKENDS, type TestBackend } from './backendNames';

const wasmDist = `${join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
setWasmPaths(wasmDist);

/**
 * Selects `name` with plain tfjs (`tf.setBackend`, tfjs-core's gradients) and no @relkd/backend:
 * no fused loss kernels, no WASM gradient fills or faster kernels. This is how @relkd/core runs
 * for a user who never calls `useBackend`, and it keeps core's tests free of any dependency on
 * @relkd/backend (which depends on core). Use in `beforeAll` of a `describe.each(BACKENDS)` block.
 */
export async function usePlainBackend(name: TestBackend): Promise<void> {
  if (!(await tf.setBackend(name)) || tf.getBackend() !== name)
    throw new Error(`backend ${name} did not activate (got ${tf.getBackend()})`);
  await tf.ready();
}

export { BACKENDS, type TestBackend };

/** The conv backprop kernels the Module gradients need. */
const CONV_GRADIENT_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
] as const;

/**
 * The conv backprop kernels `backend` has no kernel for (from tfjs' kernel registry, which the
 * backend packages fill when imported): plain tfjs-backend-wasm 4.22 lacks three of them.
 */
export function missingConvGradientKernels(backend: TestBackend): string[] {
  return CONV_GRADIENT_KERNELS.filter((k) => tf.getKernel(k, backend) === undefined);
}
