import { isRelkdError, type RelkdError, type RelkdWarning, setWarningHandler } from '@relkd/core';
import { expectClose } from '@relkd/testing';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBackend } from './describeBackend';
import { locateWasmDirectory, type ModuleLoader } from './environment';
import { type BackendName, type UseBackendOptions, useBackend } from './useBackend';

const GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';
const DAWN = 'webgpu';

/** An error like the one Node's ESM loader throws for a package that is not installed. */
function notFound(pkg: string): Error {
  return Object.assign(
    new Error(
      `Cannot find package '${pkg}' imported from /app/node_modules/@relkd/backend/dist/index.js`,
    ),
    {
      code: 'ERR_MODULE_NOT_FOUND',
    },
  );
}

/**
 * A module loader simulating the optional native packages: `behaviour[pkg]` is an Error to throw,
 * a function to run on import (e.g. registering a fake 'tensorflow' backend), or absent (missing).
 */
function loader(behaviour: Record<string, Error | (() => void)>): ModuleLoader {
  return async (specifier: string) => {
    const b = behaviour[specifier];
    if (b instanceof Error) throw b;
    if (typeof b === 'function') {
      b();
      return {};
    }
    if (specifier === GPU || specifier === NODE || specifier === DAWN) throw notFound(specifier);
    return import(/* @vite-ignore */ specifier);
  };
}

/** Registers a fake native backend (a cpu backend wearing tfjs-node's flags). */
function fakeTensorflow(isUsingGpuDevice: boolean, isGPUPackage = true): () => void {
  return () => {
    tf.registerBackend('tensorflow', () =>
      Object.assign(new MathBackendCPU(), { isUsingGpuDevice, isGPUPackage }),
    );
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
  if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
  await useBackend('cpu');
});

describe('useBackend: real backends', () => {
  it.each([
    'cpu',
    'wasm',
  ] as const)('%s: selects it, registers gradients, reports it', async (name) => {
    const info = await useBackend(name);
    expect(tf.getBackend()).toBe(name);
    expect(info).toMatchObject({ name, device: 'cpu', float32: true, gradients: true, tried: [] });
    if (name === 'wasm') {
      expect(typeof info.simd).toBe('boolean');
      expect(info.threads).toBe(1); // Node runs tfjs-backend-wasm single-threaded
    } else {
      expect(info.simd).toBeUndefined();
    }
    expect(tf.getGradient('Multiply')).toBeDefined();
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, -2, 3]));
    expectClose(g, [2, -4, 6]);
    expect(describeBackend()).toContain(name);
  });

  it("'auto' in Node without tfjs-node(-gpu) and without a hardware WebGPU adapter falls back to wasm and says why", async () => {
    // `webgpu` (Dawn) is installed here; this project sets no Vulkan driver, the webgpu project
    // sets SwiftShader's (a software adapter, which 'auto' refuses as well).
    const info = await useBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.tried).toHaveLength(3);
    expect(info.tried[0]).toContain(GPU);
    expect(info.tried[0]).toContain('module missing');
    expect(info.tried[1]).toMatch(/^webgpu-dawn \(webgpu\): (driver missing|software adapter)/);
    expect(info.tried[2]).toContain(NODE);
    expect(info.tried[2]).toContain('module missing');
    expect(info.adapter).toBeUndefined();
    expect(describeBackend()).toMatch(
      /^wasm \(cpu, (no )?SIMD, 1 thread, float32, tfjs-core 4\.22\.0, skipped: gpu \(.*\), webgpu-dawn \(webgpu\), node \(.*\)\)$/,
    );
  });

  it("explicit 'gpu' in Node without tfjs-node-gpu throws BACKEND_UNAVAILABLE naming the package", async () => {
    const e = await rejection(useBackend('gpu'));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain("useBackend('gpu'): the backend is unavailable in Node.js.");
    expect(e.message).toContain('module missing: @tensorflow/tfjs-node-gpu is not installed');
    expect(e.message).toContain('npm i @tensorflow/tfjs-node-gpu@4.22.0');
    expect(e.message).toContain('CUDA 11.2 and cuDNN 8.1');
    expect(e.message).toMatch(/webgpu-dawn \(webgpu\): (driver missing|software adapter)/);
    expect(e.message).toContain("useBackend('auto')");
    expect(e.details).toMatchObject({ requested: 'gpu', package: GPU, reason: 'module-missing' });
    expect(tf.getBackend()).toBe('cpu'); // unchanged
  });

  it("explicit 'webgl' in Node throws BACKEND_UNAVAILABLE (needs a browser)", async () => {
    const e = await rejection(useBackend('webgl'));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('@tensorflow/tfjs-backend-webgl needs a browser');
    expect(e.message).toContain("'webgpu' (Dawn)");
    expect(e.details).toMatchObject({ reason: 'needs-browser' });
  });
});

describe('useBackend: validation', () => {
  it.each([
    'tpu',
    'GPU',
    '',
    'tensorflow',
    42,
    null,
  ])('unknown backend name %j throws INVALID_OPTION before loading anything', async (name) => {
    const calls: string[] = [];
    const importModule = async (s: string) => {
      calls.push(s);
      return {};
    };
    const e = await rejection(useBackend(name as BackendName, { importModule }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain("expected one of 'auto', 'gpu', 'wasm', 'cpu', 'webgl', 'webgpu'");
    expect(calls).toEqual([]);
  });

  it.each([
    [{ wasmThreads: 0 }, 'wasmThreads'],
    [{ wasmThreads: 1.5 }, 'wasmThreads'],
    [{ wasmPaths: 3 }, 'wasmPaths'],
    [{ wasmPaths: { 'tfjs-backend-wasm.wasm': 1 } }, 'wasmPaths'],
    [{ importModule: 'x' }, 'importModule'],
    [{ initTimeoutMs: 0 }, 'initTimeoutMs'],
    [{ initTimeoutMs: Number.NaN }, 'initTimeoutMs'],
    [{ initTimeoutMs: '5' }, 'initTimeoutMs'],
    [{ allowSoftwareAdapter: 'yes' }, 'allowSoftwareAdapter'],
    [{ dawnFlags: 'backend=vulkan' }, 'dawnFlags'],
    [{ dawnFlags: [1] }, 'dawnFlags'],
  ])('bad options %j throw INVALID_OPTION', async (options, name) => {
    const e = await rejection(useBackend('wasm', options as unknown as UseBackendOptions));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.details).toMatchObject({ name });
  });
});

describe('useBackend: optional native packages (simulated with an injected loader)', () => {
  it('tfjs-node-gpu present but CUDA libraries missing: explicit gpu fails with the reason', async () => {
    const cuda = new Error(
      'libcudart.so.11.0: cannot open shared object file: No such file or directory',
    );
    const e = await rejection(useBackend('gpu', { importModule: loader({ [GPU]: cuda }) }));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('CUDA libraries missing');
    expect(e.message).toContain('libcudart.so.11.0');
    expect(e.details).toMatchObject({ reason: 'cuda-missing', package: GPU });
  });

  it('tfjs-node-gpu present but its native addon missing', async () => {
    const addon = new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node.',
    );
    const e = await rejection(useBackend('gpu', { importModule: loader({ [GPU]: addon }) }));
    expect(e.message).toContain('native addon missing');
    expect(e.message).toContain('npm rebuild @tensorflow/tfjs-node-gpu');
    expect(e.details).toMatchObject({ reason: 'native-addon-missing' });
  });

  it('a missing dependency of an installed package is not reported as the package missing', async () => {
    const dep = Object.assign(new Error("Cannot find module 'adm-zip'"), {
      code: 'MODULE_NOT_FOUND',
    });
    const e = await rejection(useBackend('gpu', { importModule: loader({ [GPU]: dep }) }));
    expect(e.message).toContain('could not load a dependency');
    expect(e.message).toContain('adm-zip');
  });

  it('tf.setBackend resolving false is a failure, not a success', async () => {
    const broken = () =>
      tf.registerBackend('tensorflow', () => {
        throw new Error('TF_NewSession failed');
      });
    const e = await rejection(useBackend('gpu', { importModule: loader({ [GPU]: broken }) }));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain(
      "initialisation returned false: tf.setBackend('tensorflow') resolved false",
    );
    expect(e.details).toMatchObject({ reason: 'init-false' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('tfjs-node-gpu with a GPU: name tensorflow, device gpu', async () => {
    const info = await useBackend('gpu', { importModule: loader({ [GPU]: fakeTensorflow(true) }) });
    expect(info).toMatchObject({ name: 'tensorflow', device: 'gpu', gradients: true, tried: [] });
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('tfjs-node-gpu without a usable GPU: explicit gpu fails (and restores the previous backend), auto uses it on the CPU', async () => {
    const opts = { importModule: loader({ [GPU]: fakeTensorflow(false) }) };
    const e = await rejection(useBackend('gpu', opts));
    expect(e.message).toContain('TensorFlow found no usable GPU');
    expect(e.details).toMatchObject({ reason: 'cuda-missing' });
    expect(tf.getBackend()).toBe('cpu');
    const info = await useBackend('auto', opts);
    expect(info).toMatchObject({ name: 'tensorflow', device: 'cpu' });
    expect(info.tried).toHaveLength(1);
    expect(info.tried[0]).toContain('using it on the CPU');
  });

  it("'auto': gpu failing and tfjs-node present picks tfjs-node (device cpu)", async () => {
    const cuda = new Error('Could not load dynamic library libcudnn.so.8');
    const info = await useBackend('auto', {
      importModule: loader({ [GPU]: cuda, [NODE]: fakeTensorflow(false, false) }),
    });
    expect(info).toMatchObject({ name: 'tensorflow', device: 'cpu' });
    expect(info.tried).toHaveLength(2);
    expect(info.tried[0]).toMatch(/^gpu \(@tensorflow\/tfjs-node-gpu\): CUDA libraries missing/);
    expect(info.tried[1]).toMatch(
      /^webgpu-dawn \(webgpu\): module missing: webgpu is not installed/,
    );
  });

  it("'auto': gpu failing and tfjs-node missing falls back to wasm with both reasons", async () => {
    const cuda = new Error('libcublas.so.11: cannot open shared object file');
    const info = await useBackend('auto', { importModule: loader({ [GPU]: cuda }) });
    expect(info.name).toBe('wasm');
    expect(info.tried[0]).toContain('CUDA libraries missing');
    expect(info.tried[1]).toContain('module missing: webgpu is not installed');
    expect(info.tried[2]).toContain('module missing: @tensorflow/tfjs-node is not installed');
  });

  it('a backend registered from another copy of tfjs-core (tfjs-node 4.21.0) warns DUPLICATE_TFJS_CORE, naming both versions and the fix', async () => {
    // What tfjs-node 4.21 installed beside relkd's tfjs-core 4.22 looks like: its backend class
    // derives from the KernelBackend of its own tfjs-core copy, and its module says its versions.
    class KernelBackendOfTfjsCore421 {}
    const other = new Proxy(new MathBackendCPU(), {
      getPrototypeOf: () => KernelBackendOfTfjsCore421.prototype,
    });
    const seen: RelkdWarning[] = [];
    const previous = setWarningHandler((w) => {
      seen.push(w);
    });
    try {
      const info = await useBackend('gpu', {
        importModule: async (s) => {
          if (s !== GPU) throw notFound(s);
          tf.registerBackend('tensorflow', () =>
            Object.assign(other, { isUsingGpuDevice: true, isGPUPackage: true }),
          );
          return { version: { 'tfjs-node-gpu': '4.21.0', 'tfjs-core': '4.21.0' } };
        },
      });
      expect(info.name).toBe('tensorflow');
      const duplicates = seen.filter((w) => w.code === 'DUPLICATE_TFJS_CORE');
      expect(duplicates).toHaveLength(1);
      const text = duplicates[0]!.message;
      expect(text).toContain(`${tf.version_core} (used by @relkd/core, @relkd/backend)`);
      expect(text).toContain('4.21.0 (used by @tensorflow/tfjs-node-gpu 4.21.0)');
      expect(text).toContain('npm dedupe');
      expect(text).toContain(`npm i @tensorflow/tfjs@${tf.version_core}`);
    } finally {
      setWarningHandler(previous);
    }
  });

  it("backends on relkd's own tfjs-core: no DUPLICATE_TFJS_CORE warning", async () => {
    const seen: RelkdWarning[] = [];
    const previous = setWarningHandler((w) => {
      seen.push(w);
    });
    try {
      await useBackend('wasm');
      await useBackend('cpu');
      await useBackend('gpu', { importModule: loader({ [GPU]: fakeTensorflow(true) }) });
      expect(seen).toEqual([]);
    } finally {
      setWarningHandler(previous);
    }
  });

  it('a backend whose initialisation never settles: BACKEND_UNAVAILABLE (init-timeout) after initTimeoutMs, previous backend kept; auto goes on', async () => {
    // e.g. tfjs-backend-wasm's threaded worker in a minified bundle: tf.setBackend never settles
    const never = () => {
      tf.registerBackend('tensorflow', () => new Promise<never>(() => {}));
    };
    const started = Date.now();
    const e = await rejection(
      useBackend('gpu', { importModule: loader({ [GPU]: never }), initTimeoutMs: 200 }),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain(
      "initialisation did not finish within 0.2 s: tf.setBackend('tensorflow') never settled",
    );
    expect(e.details).toMatchObject({ reason: 'init-timeout' });
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.findBackendFactory('tensorflow')).toBeNull();
    await tf.ready(); // not stuck behind the abandoned initialisation
    const info = await useBackend('auto', {
      importModule: loader({ [GPU]: never }),
      initTimeoutMs: 200,
    });
    expect(info.name).toBe('wasm');
    expect(info.tried[0]).toContain('initialisation did not finish within 0.2 s');
  });

  it("explicit 'cpu' works through options.modules without importing", async () => {
    const calls: string[] = [];
    const info = await useBackend('cpu', {
      modules: { '@tensorflow/tfjs-backend-cpu': {} },
      importModule: async (s) => {
        calls.push(s);
        return {};
      },
    });
    expect(info.name).toBe('cpu');
    expect(calls).toEqual([]);
  });

  it('a backend the application already imported is used even when importing it here fails (bundles)', async () => {
    const info = await useBackend('wasm', {
      importModule: async () => {
        throw new TypeError('Failed to resolve module specifier "@tensorflow/tfjs-backend-wasm"');
      },
    });
    expect(info.name).toBe('wasm');
  });
});

describe('helpers', () => {
  it('locateWasmDirectory finds the installed binaries (Node)', async () => {
    const { existsSync } = await import('node:fs');
    const dir = await locateWasmDirectory(import.meta.url);
    expect(dir).toMatch(/tfjs-backend-wasm[\\/]dist[\\/]$/);
    for (const f of [
      'tfjs-backend-wasm.wasm',
      'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm',
    ]) {
      expect(existsSync(`${dir}${f}`)).toBe(true);
    }
  });

  it('describeBackend reports a backend selected outside useBackend as such', async () => {
    await useBackend('wasm');
    await tf.setBackend('cpu');
    expect(describeBackend()).toBe('cpu (selected outside @relkd/backend; tfjs-core 4.22.0)');
    expect(
      describeBackend({
        name: 'webgl',
        device: 'gpu',
        float32: false,
        gradients: true,
        tried: ['webgpu (x): y'],
      }),
    ).toBe('webgl (gpu, float16 only, tfjs-core 4.22.0, skipped: webgpu (x))');
  });
});
