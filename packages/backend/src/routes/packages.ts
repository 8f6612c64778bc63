import * as tf from '@tensorflow/tfjs-core';
import type { RouteId } from './route';

/** The packages behind each backend. */
export const PACKAGES: Record<RouteId, string> = {
  nodeGpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  dawn: 'webgpu',
};

/** The Dawn `webgpu` version the docs and hints name (tested with it). */
export const DAWN_VERSION = '0.6.2';

export const LABELS: Record<RouteId, string> = {
  nodeGpu: 'gpu',
  node: 'node',
  wasm: 'wasm',
  cpu: 'cpu',
  webgl: 'webgl',
  webgpu: 'webgpu',
  dawn: 'webgpu-dawn',
};

/** Set-up hints appended to BACKEND_UNAVAILABLE messages. */
export function installHint(c: RouteId): string {
  const v = tf.version_core;
  switch (c) {
    case 'nodeGpu':
      return (
        `Install it with \`npm i ${PACKAGES.nodeGpu}@${v}\` (Linux x86_64 only; needs an NVIDIA driver >= 450, ` +
        'CUDA 11.2 and cuDNN 8.1 on the library path — see the @relkd/backend README)'
      );
    case 'node':
      return `Install it with \`npm i ${PACKAGES.node}@${v}\``;
    case 'dawn':
      return (
        `Install them with \`npm i ${PACKAGES.dawn}@${DAWN_VERSION} ${PACKAGES.webgpu}@${v}\` (Dawn's prebuilt Node bindings ` +
        'for Linux, macOS and Windows; no download at install time)'
      );
    default:
      return `Install it with \`npm i ${PACKAGES[c]}@${v}\` and import it in your application`;
  }
}
