import * as tf from '@tensorflow/tfjs-core';
import { activate } from './activate';
import { importBackend } from './load';
import { PACKAGES } from './packages';
import { type Route, Unavailable } from './route';

/** `@tensorflow/tfjs-backend-webgl`, browsers only. */
export const webglRoute: Route = {
  id: 'webgl',
  async attempt({ node, options }) {
    if (node) {
      throw new Unavailable(
        'needs-browser',
        `${PACKAGES.webgl} needs a browser (WebGL); in Node use 'gpu' (tfjs-node-gpu or Dawn WebGPU), 'webgpu' (Dawn), 'wasm' or 'cpu'.`,
      );
    }
    await importBackend('webgl', 'webgl', options, node);
    await activate('webgl', 'webgl', options);
    // tfjs-backend-webgl's floatPrecision() reports 16 whenever WEBGL_RENDER_FLOAT32_ENABLED is
    // true (tensorflow/tfjs#6980), so read the flag itself.
    const float32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
    return { name: 'webgl', device: 'gpu', float32, gradients: true };
  },
};
