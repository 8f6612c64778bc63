import { checkTfjsCore } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo, BackendName, UseBackendOptions } from './backendTypes';
import { isNodeEnvironment } from './environment';
import { registerFusedKernels } from './fused/registerFusedKernels';
import { registerGradients } from './registerGradients';
import { registry } from './routes/activate';
import { LABELS, PACKAGES } from './routes/packages';
import { plan } from './routes/plan';
import { type RouteId, Unavailable } from './routes/route';
import { message } from './routes/text';
import { tfjsCoreUsers } from './routes/tfjsCoreUsers';
import { unavailableError } from './routes/unavailableError';
import { validateUseBackendOptions } from './validateUseBackendOptions';
import { registerWasmGradientKernels } from './wasm/registerWasmGradientKernels';

export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type SelectedBackendName,
  type UseBackendOptions,
} from './backendTypes';

let lastInfo: BackendInfo | undefined;

/**
 * Selects where tfjs runs, registers tfjs-core's gradients (tfjs-core alone registers none) and
 * fills the WASM backend's gradient gaps (and, on WASM, corrects its float32 `OneHot` kernel, see
 * `fixWasmOneHot` of `@relkd/backend/gradients`), then returns what was chosen and why.
 *
 * - `'cpu'`, `'wasm'`, `'webgl'`, `'webgpu'`: that backend (`@tensorflow/tfjs-backend-*`, optional peers).
 *   In Node, `'webgpu'` runs tfjs-backend-webgpu on Dawn (optional peer `webgpu`, which provides
 *   `navigator.gpu`); a software adapter (SwiftShader, ...) only with `allowSoftwareAdapter: true`.
 * - `'gpu'`: in Node `@tensorflow/tfjs-node-gpu` (CUDA), then Dawn WebGPU on a hardware adapter;
 *   in a browser WebGPU, then WebGL.
 * - `'auto'` (default): in Node tfjs-node-gpu → Dawn WebGPU (hardware adapter) →
 *   `@tensorflow/tfjs-node` → WASM → CPU; in a browser WebGPU → WebGL → WASM → CPU. `info.tried`
 *   says why each earlier choice was skipped. `'gpu'` and `'auto'` never select a software adapter.
 *
 * Each route is one module under `routes/` (tfjs-node-gpu, tfjs-node, Dawn WebGPU, browser
 * WebGPU, WebGL, WASM, CPU) behind the `Route` interface; `routes/plan.ts` orders them.
 *
 * Backends are loaded with dynamic imports only when chosen, so none is a hard dependency. A
 * backend package the application already imported is used as is.
 *
 * @throws RelkdError `INVALID_OPTION` for an unknown backend name or a bad option (before anything
 *   is loaded); `BACKEND_UNAVAILABLE` when an explicit choice (or every `'auto'` candidate) cannot
 *   be used — the message names the package to install and the reason: module missing, native
 *   addon missing, CUDA libraries missing, Vulkan driver missing, software adapter refused, or
 *   initialisation failed (`tf.setBackend` resolving
 *   `false` counts as a failure).
 *
 * @example
 * ```ts
 * import { useBackend, describeBackend } from '@relkd/backend';
 * const info = await useBackend('auto');
 * console.log(describeBackend()); // e.g. "wasm (cpu, SIMD, 1 thread, float32) …"
 * const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2])); // gradients work
 * ```
 */
export async function useBackend(
  name: BackendName = 'auto',
  options: UseBackendOptions = {},
): Promise<BackendInfo> {
  validateUseBackendOptions(name, options);
  registerGradients();
  registerWasmGradientKernels({ faster: options.fasterWasmKernels ?? true });
  registerFusedKernels();
  const node = isNodeEnvironment();
  const routes = plan(name, node);
  const tried: string[] = [];
  const failures: { candidate: RouteId; error: Unavailable }[] = [];
  const previous = tf.engine().backendName as string | null;
  for (const route of routes) {
    const candidate = route.id;
    try {
      const info = await route.attempt({ requested: name, node, options, tried });
      checkTfjsCore(tfjsCoreUsers(candidate));
      lastInfo = { ...info, tried };
      return lastInfo;
    } catch (e) {
      const error =
        e instanceof Unavailable
          ? e
          : new Unavailable('init-failed', `initialisation failed: ${message(e)}`);
      failures.push({ candidate, error });
      tried.push(`${LABELS[candidate]} (${PACKAGES[candidate]}): ${error.message}`);
    }
  }
  // A failed tf.setBackend leaves tfjs pointing at the failed backend with no instance: go back.
  if (previous != null && previous in registry() && tf.engine().backendName !== previous) {
    await tf.setBackend(previous);
  }
  throw unavailableError(name, node, failures);
}

/** The last {@link BackendInfo} returned by {@link useBackend}, if any. */
export function getBackendInfo(): BackendInfo | undefined {
  return lastInfo;
}
