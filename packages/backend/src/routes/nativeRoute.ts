import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from '../backendTypes';
import { activate } from './activate';
import { importBackend } from './load';
import { PACKAGES } from './packages';
import { type RouteContext, Unavailable } from './route';

/**
 * tfjs-node or tfjs-node-gpu (both register tfjs' `'tensorflow'` backend). tfjs-node-gpu that
 * finds no usable GPU runs on the CPU: `'gpu'` then fails (`cuda-missing`), `'auto'` keeps it
 * and says so in `tried`.
 */
export async function attemptNative(
  candidate: 'nodeGpu' | 'node',
  { requested, node, options, tried }: RouteContext,
): Promise<Omit<BackendInfo, 'tried'>> {
  if (!node) throw new Unavailable('needs-browser', `${PACKAGES[candidate]} runs only in Node.js.`);
  // tfjs-node and tfjs-node-gpu both register 'tensorflow'; never load the second one.
  const existing = tf.findBackendFactory('tensorflow') != null;
  if (!existing) await importBackend(candidate, 'tensorflow', options, node);
  const previous = tf.engine().backendName as string | null;
  await activate('tensorflow', candidate, options);
  const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean; isGPUPackage?: boolean };
  const onGpu = be.isUsingGpuDevice ?? be.isGPUPackage ?? candidate === 'nodeGpu';
  if (candidate === 'nodeGpu' && !onGpu) {
    const why =
      'CUDA libraries missing: @tensorflow/tfjs-node-gpu loaded, but TensorFlow found no usable GPU (CUDA 11.2 / cuDNN 8.1 ' +
      'not on the library path, or no NVIDIA GPU visible) and runs on the CPU';
    if (requested === 'gpu') {
      if (previous != null && previous !== 'tensorflow') await tf.setBackend(previous);
      throw new Unavailable('cuda-missing', `${why}.`);
    }
    tried.push(`gpu (${PACKAGES.nodeGpu}): ${why}; using it on the CPU.`);
  }
  return { name: 'tensorflow', device: onGpu ? 'gpu' : 'cpu', float32: true, gradients: true };
}
