import { isRelkdError, type RelkdError } from '@relkd/core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBackend } from '../describeBackend';
import { getBackendInfo, type UseBackendOptions, useBackend } from '../useBackend';
import { adapterDetails } from './adapterDetails';

// The Node WebGPU route with a simulated Dawn (`webgpu`) and tfjs-backend-webgpu, so that the
// adapter choice is tested on every machine. The real route runs in the `webgpu` test project.

const GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';

interface FakeInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

const NVIDIA: FakeInfo = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '0x2335',
  description: 'NVIDIA H200',
  isFallbackAdapter: false,
};
const SWIFTSHADER: FakeInfo = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: 'swiftshader-device-subzero-',
  description: 'SwiftShader driver 5.0.0',
  isFallbackAdapter: true,
};

/** A stand-in for tfjs' WebGPUBackend: a cpu backend that remembers what it was built on. */
class FakeWebGPUBackend extends MathBackendCPU {
  constructor(
    readonly device: unknown,
    readonly adapterInfo: unknown,
  ) {
    super();
  }
}

/** A fake Dawn module offering `info` (or no adapter), recording the flags passed to create(). */
function fakeDawn(info: FakeInfo | null) {
  const created: string[][] = [];
  const requestedDevices: object[] = [];
  const module = {
    globals: { GPUBufferUsage: { MAP_READ: 1 } },
    create(flags: string[]) {
      created.push(flags);
      return {
        requestAdapter: async () =>
          info === null
            ? null
            : {
                info,
                features: new Set<string>(['timestamp-query']),
                limits: { maxBufferSize: 1024, maxComputeWorkgroupSizeX: 256 },
                requestDevice: async (d: object) => {
                  requestedDevices.push(d);
                  return { fake: 'device' };
                },
              },
      };
    },
  };
  return { module, created, requestedDevices };
}

function options(
  dawn: unknown,
  extra: UseBackendOptions = {},
): UseBackendOptions & { importModule: (s: string) => Promise<unknown> } {
  return {
    ...extra,
    importModule: async (s: string) => {
      if (s === 'webgpu' && dawn !== undefined) return dawn;
      if (s === TFJS_WEBGPU) return { WebGPUBackend: FakeWebGPUBackend };
      throw Object.assign(new Error(`Cannot find package '${s}' imported from /app/index.js`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<RelkdError> {
  try {
    await p;
  } catch (e) {
    if (isRelkdError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await useBackend('cpu');
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
});

describe('Node WebGPU route (Dawn), simulated', () => {
  it("'gpu': tfjs-node-gpu missing, then Dawn on a hardware adapter; info reports the adapter", async () => {
    const dawn = fakeDawn(NVIDIA);
    const info = await useBackend('gpu', options(dawn.module, { dawnFlags: ['backend=vulkan'] }));
    expect(info).toMatchObject({ name: 'webgpu', device: 'gpu', float32: true, gradients: true });
    expect(info.adapter).toEqual({
      vendor: 'nvidia',
      architecture: 'hopper',
      description: 'NVIDIA H200',
      software: false,
    });
    expect(info.tried).toHaveLength(1);
    expect(info.tried[0]).toContain(`module missing: ${GPU} is not installed`);
    expect(getBackendInfo()?.adapter?.vendor).toBe('nvidia');
    expect(tf.getBackend()).toBe('webgpu');
    expect(dawn.created).toEqual([['backend=vulkan']]);
    // the device asks for the adapter's limits and the optional features it has
    expect(dawn.requestedDevices[0]).toMatchObject({
      requiredFeatures: ['timestamp-query'],
      requiredLimits: { maxBufferSize: 1024, maxComputeWorkgroupSizeX: 256 },
    });
    const backend = tf.backend() as unknown as FakeWebGPUBackend;
    expect(backend.device).toEqual({ fake: 'device' });
    expect(backend.adapterInfo).toBe(NVIDIA);
    // Dawn's globals and navigator.gpu are there for tfjs-backend-webgpu
    expect((globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBeDefined();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeDefined();
    expect(describeBackend()).toContain('webgpu (gpu, adapter nvidia hopper, float32');
  });

  it.each([
    'gpu',
    'auto',
  ] as const)("'%s' never selects a software adapter, even with allowSoftwareAdapter", async (name) => {
    const dawn = fakeDawn(SWIFTSHADER);
    const opts = options(dawn.module, { allowSoftwareAdapter: true });
    if (name === 'gpu') {
      const e = await rejection(useBackend(name, opts));
      expect(e.code).toBe('BACKEND_UNAVAILABLE');
      // names both routes and what each lacks
      expect(e.message).toContain(`gpu (${GPU}): module missing`);
      expect(e.message).toContain('CUDA 11.2 and cuDNN 8.1');
      expect(e.message).toContain('webgpu-dawn (webgpu): software adapter');
      expect(e.message).toContain('google swiftshader SwiftShader driver 5.0.0');
      expect(e.message).toContain("useBackend('webgpu', { allowSoftwareAdapter: true })");
      expect(e.details).toMatchObject({
        packages: [GPU, 'webgpu'],
        reasons: ['module-missing', 'software-adapter'],
      });
      expect(tf.getBackend()).toBe('cpu');
    } else {
      const info = await useBackend(name, opts);
      expect(info.name).toBe('wasm');
      expect(info.tried[1]).toContain('webgpu-dawn (webgpu): software adapter');
    }
    expect(tf.findBackendFactory('webgpu')).toBeNull();
  });

  it("'webgpu' on a software adapter: refused by default, used with allowSoftwareAdapter", async () => {
    const dawn = fakeDawn(SWIFTSHADER);
    const e = await rejection(useBackend('webgpu', options(dawn.module)));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.details).toMatchObject({ reason: 'software-adapter', package: 'webgpu' });
    expect(e.message).toContain('allowSoftwareAdapter: true');
    const info = await useBackend('webgpu', options(dawn.module, { allowSoftwareAdapter: true }));
    expect(info).toMatchObject({ name: 'webgpu', device: 'gpu', tried: [] });
    expect(info.adapter).toMatchObject({ vendor: 'google', software: true });
    expect(describeBackend()).toContain(
      'webgpu (gpu, software adapter google swiftshader, float32',
    );
    // Dawn's GPU object is created once per process
    expect(dawn.created).toHaveLength(1);
    // once running on SwiftShader, 'gpu' still refuses it
    const again = await rejection(useBackend('gpu', options(dawn.module)));
    expect(again.details).toMatchObject({ reasons: ['module-missing', 'software-adapter'] });
  });

  it('no adapter: driver missing, naming the Vulkan loader and driver', async () => {
    const e = await rejection(useBackend('webgpu', options(fakeDawn(null).module)));
    expect(e.details).toMatchObject({ reason: 'driver-missing' });
    expect(e.message).toContain('Dawn found no WebGPU adapter');
    expect(e.message).toContain('libvulkan.so.1');
    expect(e.message).toContain('vulkaninfo');
  });

  it('webgpu not installed: module missing, with the install command for both packages', async () => {
    const e = await rejection(useBackend('webgpu', options(undefined)));
    expect(e.details).toMatchObject({ reason: 'module-missing', package: 'webgpu' });
    expect(e.message).toContain('module missing: webgpu is not installed');
    expect(e.message).toContain(`npm i webgpu@0.6.2 ${TFJS_WEBGPU}@4.22.0`);
  });

  it('a module that is not Dawn: init-failed', async () => {
    const e = await rejection(useBackend('webgpu', options({ something: 1 })));
    expect(e.details).toMatchObject({ reason: 'init-failed' });
    expect(e.message).toContain('exports no create()/globals');
  });
});

describe('adapterDetails', () => {
  it.each([
    [{ vendor: 'google', architecture: 'swiftshader' }, undefined, true],
    [{ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, undefined, true],
    [{ vendor: 'mesa', description: 'lavapipe' }, undefined, true],
    [{ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }, undefined, true],
    [{ vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: true }, undefined, true],
    [{ vendor: 'nvidia', architecture: 'ampere' }, true, true],
    [{ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' }, undefined, false],
    [{ vendor: 'amd', architecture: 'rdna-3' }, false, false],
    [
      { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) Xe Graphics' },
      false,
      false,
    ],
  ])('%j (adapter fallback flag %s): software %s', (info, fallback, software) => {
    expect(adapterDetails(info, fallback).software).toBe(software);
  });

  it('missing fields read as empty strings', () => {
    expect(adapterDetails(undefined)).toEqual({
      vendor: '',
      architecture: '',
      description: '',
      software: false,
    });
  });
});
