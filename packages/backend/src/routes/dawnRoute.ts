import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo, BackendName, UseBackendOptions } from '../backendTypes';
import type { AdapterDetails } from '../webgpu/adapterDetails';
import {
  type GpuLike,
  installDawnGlobals,
  pickDawnModule,
  pickWebGPUBackend,
  registerDawnBackend,
  requestDawnAdapter,
} from '../webgpu/dawn';
import { activate, registry } from './activate';
import { classifyImportError } from './classifyImportError';
import { loaded, loadPackage } from './load';
import { installHint, PACKAGES } from './packages';
import { type Route, Unavailable } from './route';
import { firstLine, message } from './text';

/** Dawn's `GPU` object per Dawn module, created once (with the first call's `dawnFlags`). */
const dawnGpus = new WeakMap<object, GpuLike>();
/** The `'webgpu'` backend instance started on Dawn, and its adapter. */
let dawnBackend: { backend: unknown; adapter: AdapterDetails } | undefined;

function describeAdapter(a: AdapterDetails): string {
  return [a.vendor, a.architecture, a.description].filter((x) => x !== '').join(' ') || 'unnamed';
}

/**
 * The Node WebGPU route: Dawn (`webgpu`) provides `navigator.gpu`, tfjs-backend-webgpu runs on
 * the adapter Dawn offers. A software adapter only for `'webgpu'` with `allowSoftwareAdapter`.
 */
async function attemptDawn(
  requested: BackendName,
  options: UseBackendOptions,
): Promise<Omit<BackendInfo, 'tried'>> {
  const allowSoftware = requested === 'webgpu' && options.allowSoftwareAdapter === true;
  const refuseSoftware = (a: AdapterDetails): void => {
    if (!a.software || allowSoftware) return;
    throw new Unavailable(
      'software-adapter',
      `software adapter: Dawn offers only a software WebGPU adapter (${describeAdapter(a)}), which ` +
        `${requested === 'webgpu' ? 'is used only on request' : `useBackend('${requested}') never selects`}: ` +
        "useBackend('webgpu', { allowSoftwareAdapter: true }) runs on it (CPU speed, for tests). " +
        'For a GPU, install its Vulkan driver (Linux), so that Dawn finds a hardware adapter.',
    );
  };
  const existing = registry().webgpu as {
    adapterInfo?: { vendor?: string; architecture?: string };
  };
  let details: AdapterDetails;
  if (existing !== undefined) {
    // Initialised earlier in this process (by us, or by the application): keep it.
    details = (dawnBackend?.backend === existing ? dawnBackend.adapter : undefined) ?? {
      vendor: existing.adapterInfo?.vendor ?? '',
      architecture: existing.adapterInfo?.architecture ?? '',
      description: '',
      software: /swiftshader|llvmpipe|lavapipe/i.test(existing.adapterInfo?.architecture ?? ''),
    };
    refuseSoftware(details);
  } else {
    let dawnModule: unknown;
    try {
      dawnModule = await loadPackage(PACKAGES.dawn, options);
    } catch (e) {
      throw classifyImportError('dawn', e, true);
    }
    const dawn = pickDawnModule(dawnModule);
    if (dawn === undefined)
      throw new Unavailable(
        'init-failed',
        `initialisation failed: ${PACKAGES.dawn} loaded but exports no create()/globals (not Dawn's Node bindings?).`,
      );
    let gpu = dawnGpus.get(dawn);
    if (gpu === undefined) {
      try {
        gpu = dawn.create([...(options.dawnFlags ?? [])]);
        dawnGpus.set(dawn, gpu);
      } catch (e) {
        throw new Unavailable(
          'init-failed',
          `initialisation failed: Dawn's create(${JSON.stringify(options.dawnFlags ?? [])}) threw: ${firstLine(message(e))}`,
        );
      }
    }
    const found = await requestDawnAdapter(gpu);
    if (found === undefined)
      throw new Unavailable(
        'driver-missing',
        'driver missing: Dawn found no WebGPU adapter. On Linux it needs the Vulkan loader (libvulkan.so.1, ' +
          "Debian/Ubuntu package libvulkan1) and the GPU vendor's Vulkan driver (e.g. NVIDIA's driver with its " +
          'Vulkan ICD; check with `vulkaninfo --summary`); macOS needs Metal, Windows D3D12.',
      );
    details = found.details;
    refuseSoftware(details);
    let backendModule: unknown;
    try {
      backendModule = await loadPackage(PACKAGES.webgpu, options);
    } catch (e) {
      const error = classifyImportError('webgpu', e, true);
      if (error.kind === 'module-missing' && error.message.includes('is not installed'))
        throw new Unavailable(
          'module-missing',
          `module missing: ${PACKAGES.webgpu} is not installed. ${installHint('dawn')}.`,
        );
      throw error;
    }
    loaded.set('dawn', backendModule);
    const WebGPUBackend = pickWebGPUBackend(backendModule);
    if (WebGPUBackend === undefined)
      throw new Unavailable(
        'init-failed',
        `initialisation failed: ${PACKAGES.webgpu} loaded but exports no WebGPUBackend.`,
      );
    installDawnGlobals(dawn, gpu);
    registerDawnBackend(WebGPUBackend, found.adapter);
  }
  await activate('webgpu', 'dawn', options);
  dawnBackend = { backend: tf.backend(), adapter: details };
  const float32 =
    ((tf.backend() as unknown as { floatPrecision?: () => number }).floatPrecision?.() ?? 32) >= 32;
  return { name: 'webgpu', device: 'gpu', float32, gradients: true, adapter: details };
}

/**
 * WebGPU in Node through Dawn (the npm package `webgpu`, optional peer): Dawn provides
 * `navigator.gpu`, tfjs-backend-webgpu runs on the adapter Dawn offers. A software adapter only
 * for `useBackend('webgpu', { allowSoftwareAdapter: true })`.
 */
export const dawnRoute: Route = {
  id: 'dawn',
  attempt: ({ requested, options }) => attemptDawn(requested, options),
};
