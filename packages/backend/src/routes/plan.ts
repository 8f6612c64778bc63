import type { BackendName } from '../backendTypes';
import { cpuRoute } from './cpuRoute';
import { dawnRoute } from './dawnRoute';
import type { Route } from './route';
import { tfjsNodeGpuRoute } from './tfjsNodeGpuRoute';
import { tfjsNodeRoute } from './tfjsNodeRoute';
import { wasmRoute } from './wasmRoute';
import { webglRoute } from './webglRoute';
import { webgpuBrowserRoute } from './webgpuBrowserRoute';

/**
 * The routes a request tries, in order. Node: `'auto'` = tfjs-node-gpu → Dawn WebGPU (hardware
 * adapter) → tfjs-node → wasm → cpu, `'gpu'` = tfjs-node-gpu → Dawn WebGPU, `'webgpu'` = Dawn.
 * Browser: `'auto'` = webgpu → webgl → wasm → cpu, `'gpu'` = webgpu → webgl.
 */
export function plan(name: BackendName, node: boolean): Route[] {
  switch (name) {
    case 'auto':
      return node
        ? [tfjsNodeGpuRoute, dawnRoute, tfjsNodeRoute, wasmRoute, cpuRoute]
        : [webgpuBrowserRoute, webglRoute, wasmRoute, cpuRoute];
    case 'gpu':
      return node ? [tfjsNodeGpuRoute, dawnRoute] : [webgpuBrowserRoute, webglRoute];
    case 'webgpu':
      return node ? [dawnRoute] : [webgpuBrowserRoute];
    case 'webgl':
      return [webglRoute];
    case 'wasm':
      return [wasmRoute];
    case 'cpu':
      return [cpuRoute];
  }
}
