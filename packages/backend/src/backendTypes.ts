import type { ModuleLoader } from './environment';
import type { AdapterDetails } from './webgpu/adapterDetails';

/** A backend request: a concrete backend, `'gpu'` (best GPU backend) or `'auto'` (best available). */
export type BackendName = 'auto' | 'gpu' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';

/** The tfjs backend names {@link useBackend} can select (`'tensorflow'` is tfjs-node / tfjs-node-gpu). */
export type SelectedBackendName = 'tensorflow' | 'wasm' | 'cpu' | 'webgl' | 'webgpu';

/** The accepted requests, for validation and docs. */
export const BACKEND_NAMES: readonly BackendName[] = [
  'auto',
  'gpu',
  'wasm',
  'cpu',
  'webgl',
  'webgpu',
];

/** What {@link useBackend} selected. */
export interface BackendInfo {
  /** The active tfjs backend (`tf.getBackend()`); `'tensorflow'` is tfjs-node(-gpu). */
  name: SelectedBackendName;
  /** Where the math runs. */
  device: 'gpu' | 'cpu';
  /** WASM only: whether the SIMD binary is in use. */
  simd?: boolean;
  /** WASM only: the number of threads XNNPACK uses (1 without threads support). */
  threads?: number;
  /** Whether float32 precision is available (false on WebGL devices limited to float16). */
  float32: boolean;
  /** Always `true`: tfjs-core's gradients are registered when `useBackend` resolves. */
  gradients: true;
  /** One line per earlier choice that was skipped, with the reason (empty when the first choice worked). */
  tried: string[];
  /**
   * WebGPU only: the adapter in use (vendor, architecture, description, and whether it is a
   * software adapter such as SwiftShader). Absent for the other backends, and for a browser
   * WebGPU backend initialised before `useBackend` without adapter details.
   */
  adapter?: AdapterDetails;
}

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * Where the WASM binaries are served from (bundlers, CDNs): a directory prefix ending in `/`,
   * or a map from each binary name (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`,
   * `tfjs-backend-wasm-threaded-simd.wasm`) to its URL. Passed to tfjs' `setWasmPaths`.
   * Default: in Node, the `dist/` directory of the installed `@tensorflow/tfjs-backend-wasm`;
   * in a browser, next to the bundled script (tfjs' default).
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Number of threads for the WASM backend (XNNPACK threadpool), a positive integer. Threads
   * need `SharedArrayBuffer`, i.e. a cross-origin-isolated page (COOP/COEP headers); Node runs the
   * WASM backend single-threaded. `1` disables the threaded binary. Default `1` in a browser:
   * threads are opt-in, because tfjs-backend-wasm's threaded worker fails to start in minified
   * production bundles (e.g. `vite build`), which left the page waiting forever; check your
   * production build when you opt in (a failed start ends in `BACKEND_UNAVAILABLE` after
   * `initTimeoutMs`).
   */
  wasmThreads?: number;
  /**
   * How long one backend may take to initialise (`tf.setBackend` and `tf.ready`), in
   * milliseconds; past it, that backend counts as unavailable (`'auto'` goes on to the next one,
   * an explicit choice throws `BACKEND_UNAVAILABLE`, reason `init-timeout`). Default `30000`;
   * `Infinity` waits forever.
   */
  initTimeoutMs?: number;
  /**
   * Module namespaces to use instead of importing them, keyed by package name, e.g.
   * `{ '@tensorflow/tfjs-backend-wasm': wasmModule }`. Bundlers cannot resolve the optional
   * dynamic imports `useBackend` makes, so in a browser bundle pass the backends you imported
   * (needed for `wasmPaths`/`wasmThreads`; a backend you merely imported is found without this).
   */
  modules?: Readonly<Record<string, unknown>>;
  /**
   * Loads a module by name; default a dynamic `import()`. For tests and unusual module systems.
   */
  importModule?: ModuleLoader;
  /**
   * Replace slow tfjs-backend-wasm 4.22 kernels by faster ones with the same values
   * (listed in the README). Default `true`; `false` keeps (or restores) tfjs' own kernels.
   */
  fasterWasmKernels?: boolean;
  /**
   * Node, `'webgpu'` only: accept a software WebGPU adapter (SwiftShader, llvmpipe, any adapter
   * flagged `isFallbackAdapter`), e.g. to test the WebGPU route in CI without a GPU. Default
   * `false`. `'gpu'` and `'auto'` never select a software adapter, whatever this says.
   */
  allowSoftwareAdapter?: boolean;
  /**
   * Node only: flags for Dawn (the npm package `webgpu`), passed to its `create(flags)` when the
   * WebGPU route starts, e.g. `['enable-dawn-features=allow_unsafe_apis']`,
   * `['disable-dawn-features=...']`, `['backend=vulkan']` or `['adapter=<name>']`. Default `[]`.
   * Only the first Dawn start in a process uses them.
   */
  dawnFlags?: readonly string[];
}
