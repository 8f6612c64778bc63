import * as tf from '@tensorflow/tfjs-core';
import { type AdapterDetails, adapterDetails } from '../webgpu/adapterDetails';
import type { GpuLike } from '../webgpu/dawn';
import { activate } from './activate';
import { importBackend } from './load';
import { PACKAGES } from './packages';
import { type Route, Unavailable } from './route';

/**
 * `@tensorflow/tfjs-backend-webgpu` on the browser's `navigator.gpu` (Node uses the Dawn route).
 * The adapter is looked at first: a software one (SwiftShader, a fallback adapter) is refused
 * unless `useBackend('webgpu', { allowSoftwareAdapter: true })`; none at all is left to tfjs,
 * whose `setBackend` then resolves false.
 */
export const webgpuBrowserRoute: Route = {
  id: 'webgpu',
  async attempt({ requested, node, options }) {
    if (node) {
      throw new Unavailable(
        'needs-browser',
        `${PACKAGES.webgpu} on navigator.gpu needs a browser; in Node 'webgpu' runs it on Dawn (npm package webgpu).`,
      );
    }
    await importBackend('webgpu', 'webgpu', options, node);
    const adapter = await browserAdapter();
    if (
      adapter?.software === true &&
      !(requested === 'webgpu' && options.allowSoftwareAdapter === true)
    ) {
      throw new Unavailable(
        'software-adapter',
        `software adapter: the browser offers only a software WebGPU adapter (${adapter.vendor} ${adapter.architecture}), ` +
          `which useBackend('${requested}') does not select without \`allowSoftwareAdapter: true\` (and 'gpu'/'auto' never)`,
      );
    }
    await activate('webgpu', 'webgpu', options);
    const float32 =
      ((tf.backend() as unknown as { floatPrecision?: () => number }).floatPrecision?.() ?? 32) >=
      32;
    return {
      name: 'webgpu',
      device: 'gpu',
      float32,
      gradients: true,
      ...(adapter !== undefined ? { adapter } : {}),
    };
  },
};

/** The adapter tfjs-backend-webgpu will get (`'high-performance'`), if the browser offers one. */
async function browserAdapter(): Promise<AdapterDetails | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (gpu === undefined) return undefined;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter == null ? undefined : adapterDetails(adapter.info, adapter.isFallbackAdapter);
  } catch {
    return undefined;
  }
}
