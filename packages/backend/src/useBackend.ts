import * as tf from '@tensorflow/tfjs-core';
import { RelkdError } from '@relkd/core';
import { registerGradients } from './registerGradients';

/** A backend request. */
export type BackendName = 'auto' | 'gpu' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';

/** What {@link useBackend} selected. */
export interface BackendInfo {
  name: 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';
  device: 'gpu' | 'cpu';
  simd?: boolean;
  threads?: number;
  float32: boolean;
  gradients: true;
  tried: string[];
}

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  wasmPaths?: string | Record<string, string>;
  wasmThreads?: number;
}

/** Provisional implementation (cpu and wasm); see issue #2. */
export async function useBackend(name: BackendName = 'auto', _options: UseBackendOptions = {}): Promise<BackendInfo> {
  registerGradients();
  const target = name === 'auto' ? 'wasm' : name;
  if (target === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else if (target === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else throw new RelkdError('BACKEND_UNAVAILABLE', `backend '${name}' not implemented yet`);
  const ok = await tf.setBackend(target);
  if (!ok) throw new RelkdError('BACKEND_UNAVAILABLE', `tf.setBackend('${target}') returned false`);
  await tf.ready();
  return { name: target, device: 'cpu', float32: true, gradients: true, tried: [] };
}
