import * as tf from '@tensorflow/tfjs-core';
import { locateWasmDirectory } from '../environment';
import { fixWasmOneHot } from '../wasm/oneHot';
import { registerWasmGradientKernels } from '../wasm/registerWasmGradientKernels';
import { activate, registry } from './activate';
import { importBackend } from './load';
import { PACKAGES } from './packages';
import { type Route, Unavailable } from './route';
import { firstLine, message } from './text';

/**
 * `@tensorflow/tfjs-backend-wasm`: binaries located in Node (or `wasmPaths`), threads opt-in in a
 * browser, the float32 `OneHot` fix and the gradient/faster kernels registered once it runs.
 */
export const wasmRoute: Route = {
  id: 'wasm',
  async attempt({ node, options }) {
    const wasmModule = pickWasmModule(await importBackend('wasm', 'wasm', options, node));
    const initialised = 'wasm' in registry();
    if (!initialised) {
      const needsModule = options.wasmPaths !== undefined || options.wasmThreads !== undefined;
      if (needsModule && wasmModule?.setWasmPaths === undefined) {
        throw new Unavailable(
          'module-needed',
          `\`wasmPaths\`/\`wasmThreads\` need the ${PACKAGES.wasm} module object, which could not be imported here: ` +
            `pass it as \`modules: { '${PACKAGES.wasm}': wasmModule }\` (import * as wasmModule from '${PACKAGES.wasm}').`,
        );
      }
      const paths =
        options.wasmPaths ?? (node ? await locateWasmDirectory(moduleLocation()) : undefined);
      try {
        if (paths !== undefined) wasmModule?.setWasmPaths?.(paths);
      } catch (e) {
        // tfjs-backend-wasm refuses new paths after a failed initialisation, and cannot retry it.
        throw new Unavailable(
          'init-failed',
          `initialisation failed earlier in this process and tfjs-backend-wasm cannot retry it (${firstLine(message(e))}); ` +
            'fix `wasmPaths` and restart',
        );
      }
      // Threads are opt-in in a browser (see `wasmThreads`); Node is single-threaded anyway.
      if ((options.wasmThreads ?? (node ? undefined : 1)) === 1)
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (options.wasmThreads !== undefined) wasmModule?.setThreadsCount?.(options.wasmThreads);
    }
    const threaded = !node && !initialised && (options.wasmThreads ?? 1) > 1;
    await activate(
      'wasm',
      'wasm',
      options,
      threaded
        ? ` (wasmThreads: ${options.wasmThreads}): the threaded binary's Web Worker did not start, as happens in minified ` +
            'production bundles (e.g. `vite build`; the worker reports "e is not defined"). Pass `wasmThreads: 1` ' +
            '(the default) or serve an unminified build, then reload the page (tfjs-backend-wasm cannot initialise twice)'
        : '',
    );
    fixWasmOneHot();
    // Now that the wasm kernels exist: the faster replacements (or tfjs' own, if asked).
    registerWasmGradientKernels({ faster: options.fasterWasmKernels ?? true });
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const multi = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    let threads = 1;
    if (multi) {
      try {
        threads = wasmModule?.getThreadsCount?.() ?? 1;
      } catch {
        threads = 1;
      }
    }
    return { name: 'wasm', device: 'cpu', simd, threads, float32: true, gradients: true };
  },
};

/**
 * This file's location, to resolve the installed tfjs-backend-wasm from: `__filename` in the CJS
 * build (where esbuild empties `import.meta`), `import.meta.url` in ESM.
 */
function moduleLocation(): string {
  return typeof __filename === 'string' ? __filename : import.meta.url;
}

interface WasmModule {
  setWasmPaths?: (p: string | Record<string, string>, usePlatformFetch?: boolean) => void;
  setThreadsCount?: (n: number) => void;
  getThreadsCount?: () => number;
}

/** The tfjs-backend-wasm exports, from an ESM namespace or a CJS `default`. */
function pickWasmModule(mod: unknown): WasmModule | undefined {
  if (mod == null || typeof mod !== 'object') return undefined;
  const m = mod as WasmModule & { default?: WasmModule };
  return typeof m.setWasmPaths === 'function' ? m : m.default;
}
