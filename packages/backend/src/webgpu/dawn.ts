import * as tf from '@tensorflow/tfjs-core';
import { type AdapterDetails, type AdapterInfoLike, adapterDetails } from './adapterDetails';

/** The parts of a `GPUAdapter` used here (structural: no dependency on `@webgpu/types`). */
export interface GpuAdapterLike {
  readonly info?: AdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
  readonly features: { has(name: string): boolean };
  readonly limits: Record<string, number>;
  requestDevice(descriptor?: object): Promise<unknown>;
}

/** The parts of a `GPU` (`navigator.gpu`) used here. */
export interface GpuLike {
  requestAdapter(options?: object): Promise<GpuAdapterLike | null>;
}

/** The npm package `webgpu` (Dawn's Node bindings): `create(flags)` and the WebGPU globals. */
export interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** `@tensorflow/tfjs-backend-webgpu`'s backend class. */
export type WebGPUBackendClass = new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;

/** The Dawn `webgpu` module from an ESM namespace or a CJS `default`, or `undefined`. */
export function pickDawnModule(mod: unknown): DawnModule | undefined {
  if (mod === null || typeof mod !== 'object') return undefined;
  const m = mod as Partial<DawnModule> & { default?: Partial<DawnModule> };
  const candidate = typeof m.create === 'function' ? m : m.default;
  return typeof candidate?.create === 'function' &&
    candidate.globals !== null &&
    typeof candidate.globals === 'object'
    ? (candidate as DawnModule)
    : undefined;
}

/** `WebGPUBackend` from tfjs-backend-webgpu's ESM namespace or CJS exports, or `undefined`. */
export function pickWebGPUBackend(mod: unknown): WebGPUBackendClass | undefined {
  if (mod === null || typeof mod !== 'object') return undefined;
  const m = mod as { WebGPUBackend?: unknown; default?: { WebGPUBackend?: unknown } };
  const cls = m.WebGPUBackend ?? m.default?.WebGPUBackend;
  return typeof cls === 'function' ? (cls as WebGPUBackendClass) : undefined;
}

/**
 * Makes Dawn's WebGPU visible the way a browser does: its `GPU*` classes and constants
 * (`GPUBufferUsage`, ...) on `globalThis` where missing, and `navigator.gpu` (Node 20 has no
 * `navigator`; Node 21+ has one without `gpu`). tfjs-backend-webgpu reads both.
 */
export function installDawnGlobals(dawn: DawnModule, gpu: GpuLike): void {
  const g = globalThis as Record<string, unknown> & { navigator?: { gpu?: unknown } };
  for (const [key, value] of Object.entries(dawn.globals)) if (!(key in g)) g[key] = value;
  if (g.navigator === undefined) g.navigator = { gpu };
  else if (g.navigator.gpu === undefined)
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

/**
 * Registers tfjs' `'webgpu'` backend on `adapter` (replacing a registered but not yet initialised
 * factory, e.g. the one tfjs-backend-webgpu registers on import, which would pick its own
 * adapter). The device asks for the adapter's limits, as tfjs-backend-webgpu's own factory does.
 */
export function registerDawnBackend(WebGPUBackend: WebGPUBackendClass, adapter: GpuAdapterLike) {
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) =>
        adapter.features.has(f),
      );
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new WebGPUBackend(device, adapter.info);
    },
    3,
  );
}

/** The adapter Dawn offers for compute (`powerPreference: 'high-performance'`), with its details. */
export async function requestDawnAdapter(
  gpu: GpuLike,
): Promise<{ adapter: GpuAdapterLike; details: AdapterDetails } | undefined> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter == null) return undefined;
  return { adapter, details: adapterDetails(adapter.info, adapter.isFallbackAdapter) };
}
