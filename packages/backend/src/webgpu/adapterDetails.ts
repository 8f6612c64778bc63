/**
 * The WebGPU adapter a `'webgpu'` backend runs on, as reported in `BackendInfo.adapter`.
 *
 * @example
 * ```ts
 * const info = await useBackend('auto');
 * if (info.adapter?.software) console.warn('WebGPU runs on a software rasteriser');
 * ```
 */
export interface AdapterDetails {
  /** `GPUAdapterInfo.vendor`, e.g. `'nvidia'`, `'amd'`, `'intel'`, `'google'` (SwiftShader); `''` when hidden. */
  vendor: string;
  /** `GPUAdapterInfo.architecture`, e.g. `'ampere'`, `'swiftshader'`; `''` when hidden. */
  architecture: string;
  /** `GPUAdapterInfo.description` (Dawn: the driver's name), `''` when hidden. */
  description: string;
  /**
   * Whether the adapter is a software implementation on the CPU (SwiftShader, llvmpipe/lavapipe,
   * WARP, or any adapter flagged `isFallbackAdapter`). `useBackend('gpu')` and `'auto'` never
   * select one; `useBackend('webgpu', { allowSoftwareAdapter: true })` does.
   */
  software: boolean;
}

/** The parts of `GPUAdapterInfo` read here (structural: no dependency on `@webgpu/types`). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** Names of the CPU (software) WebGPU/Vulkan/D3D implementations. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|microsoft basic render/i;

/**
 * Reads an adapter's details. `isFallbackAdapter` (on the info, or on the adapter in older
 * implementations) marks a software adapter; so does a vendor/architecture/description naming a
 * known CPU implementation, since not every implementation sets the flag.
 */
export function adapterDetails(
  info: AdapterInfoLike | undefined,
  isFallbackAdapter?: boolean,
): AdapterDetails {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const software =
    info?.isFallbackAdapter === true ||
    isFallbackAdapter === true ||
    SOFTWARE.test(`${vendor} ${architecture} ${info?.device ?? ''} ${description}`);
  return { vendor, architecture, description, software };
}
