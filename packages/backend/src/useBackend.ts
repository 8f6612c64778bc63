import { checkTfjsCore, RelkdError, type TfjsCoreUser } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  defaultImport,
  isNodeEnvironment,
  locateWasmDirectory,
  type ModuleLoader,
} from './environment';
import { registerFusedKernels } from './fused/registerFusedKernels';
import { registerVirtualViewKernel } from './host/virtualViewKernel';
import { registerGradients } from './registerGradients';
import { fixWasmOneHot } from './wasm/oneHot';
import { registerWasmGradientKernels } from './wasm/registerWasmGradientKernels';

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
}

/** The packages behind each backend. */
const PACKAGES = {
  nodeGpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
} as const;

type Candidate = keyof typeof PACKAGES;

/** Why a candidate could not be used. `kind` is stable; `message` is for humans. */
type FailureKind =
  | 'module-missing'
  | 'native-addon-missing'
  | 'cuda-missing'
  | 'init-false'
  | 'init-failed'
  | 'init-timeout'
  | 'needs-browser'
  | 'module-needed';

class Unavailable extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

const LABELS: Record<Candidate, string> = {
  nodeGpu: 'gpu',
  node: 'node',
  wasm: 'wasm',
  cpu: 'cpu',
  webgl: 'webgl',
  webgpu: 'webgpu',
};

/** Set-up hints appended to BACKEND_UNAVAILABLE messages. */
function installHint(c: Candidate): string {
  const v = tf.version_core;
  switch (c) {
    case 'nodeGpu':
      return (
        `Install it with \`npm i ${PACKAGES.nodeGpu}@${v}\` (Linux x86_64 only; needs an NVIDIA driver >= 450, ` +
        'CUDA 11.2 and cuDNN 8.1 on the library path — see the @relkd/backend README)'
      );
    case 'node':
      return `Install it with \`npm i ${PACKAGES.node}@${v}\``;
    default:
      return `Install it with \`npm i ${PACKAGES[c]}@${v}\` and import it in your application`;
  }
}

let lastInfo: BackendInfo | undefined;

/**
 * Selects where tfjs runs, registers tfjs-core's gradients (tfjs-core alone registers none) and
 * fills the WASM backend's gradient gaps (and, on WASM, corrects its float32 `OneHot` kernel, see
 * {@link fixWasmOneHot}), then returns what was chosen and why.
 *
 * - `'cpu'`, `'wasm'`, `'webgl'`, `'webgpu'`: that backend (`@tensorflow/tfjs-backend-*`, optional peers).
 * - `'gpu'`: in Node `@tensorflow/tfjs-node-gpu` (CUDA); in a browser WebGPU, then WebGL.
 * - `'auto'` (default): in Node tfjs-node-gpu → `@tensorflow/tfjs-node` → WASM → CPU; in a browser
 *   WebGPU → WebGL → WASM → CPU. `info.tried` says why each earlier choice was skipped.
 *
 * Backends are loaded with dynamic imports only when chosen, so none is a hard dependency. A
 * backend package the application already imported is used as is.
 *
 * @throws RelkdError `INVALID_OPTION` for an unknown backend name or a bad option (before anything
 *   is loaded); `BACKEND_UNAVAILABLE` when an explicit choice (or every `'auto'` candidate) cannot
 *   be used — the message names the package to install and the reason: module missing, native
 *   addon missing, CUDA libraries missing, or initialisation failed (`tf.setBackend` resolving
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
  validate(name, options);
  registerGradients();
  registerWasmGradientKernels({ faster: options.fasterWasmKernels ?? true });
  registerFusedKernels();
  registerVirtualViewKernel();
  const node = isNodeEnvironment();
  const plan = candidates(name, node);
  const tried: string[] = [];
  const failures: { candidate: Candidate; error: Unavailable }[] = [];
  const previous = tf.engine().backendName as string | null;
  for (const candidate of plan) {
    try {
      const info = await attempt(candidate, name, node, options, tried);
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

function validate(name: unknown, options: unknown): void {
  if (typeof name !== 'string' || !(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: unknown backend name ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}.`,
      { name: 'name', expected: BACKEND_NAMES, actual: name },
    );
  }
  if (options === null || typeof options !== 'object') {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`options\` must be an object, got ${String(options)}.`,
      {
        name: 'options',
      },
    );
  }
  const o = options as UseBackendOptions;
  if (o.wasmThreads !== undefined && !(Number.isInteger(o.wasmThreads) && o.wasmThreads >= 1)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`wasmThreads\` must be a positive integer, got ${String(o.wasmThreads)}.`,
      { name: 'wasmThreads', actual: o.wasmThreads },
    );
  }
  if (
    o.wasmPaths !== undefined &&
    typeof o.wasmPaths !== 'string' &&
    (o.wasmPaths === null ||
      typeof o.wasmPaths !== 'object' ||
      Object.values(o.wasmPaths).some((v) => typeof v !== 'string'))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      '`wasmPaths` must be a directory prefix string or a map from WASM binary names to URLs.',
      { name: 'wasmPaths' },
    );
  }
  if (
    o.initTimeoutMs !== undefined &&
    !(typeof o.initTimeoutMs === 'number' && o.initTimeoutMs > 0 && !Number.isNaN(o.initTimeoutMs))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`initTimeoutMs\` must be a positive number of milliseconds (or Infinity), got ${String(o.initTimeoutMs)}.`,
      { name: 'initTimeoutMs', actual: o.initTimeoutMs },
    );
  }
  if (o.fasterWasmKernels !== undefined && typeof o.fasterWasmKernels !== 'boolean') {
    throw new RelkdError(
      'INVALID_OPTION',
      `useBackend: \`fasterWasmKernels\` must be a boolean, got ${String(o.fasterWasmKernels)}.`,
      { name: 'fasterWasmKernels', actual: o.fasterWasmKernels },
    );
  }
  if (o.importModule !== undefined && typeof o.importModule !== 'function') {
    throw new RelkdError(
      'INVALID_OPTION',
      '`importModule` must be a function (specifier) => Promise<module>.',
      {
        name: 'importModule',
      },
    );
  }
}

function candidates(name: BackendName, node: boolean): Candidate[] {
  switch (name) {
    case 'auto':
      return node ? ['nodeGpu', 'node', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
    case 'gpu':
      return node ? ['nodeGpu'] : ['webgpu', 'webgl'];
    default:
      return [name];
  }
}

/** The backend modules loaded (or given), for their versions. */
const loaded = new Map<Candidate, unknown>();

async function load(candidate: Candidate, options: UseBackendOptions): Promise<unknown> {
  const pkg = PACKAGES[candidate];
  const mod = options.modules?.[pkg] ?? (await (options.importModule ?? defaultImport)(pkg));
  loaded.set(candidate, mod);
  return mod;
}

/**
 * Who uses which tfjs-core, for `checkTfjsCore`: this package, and the selected backend when its
 * instance does not derive from this tfjs-core's `KernelBackend` (the backend package registered
 * it from another copy of tfjs-core, e.g. tfjs-backend-wasm 4.21 next to relkd's 4.22).
 */
function tfjsCoreUsers(candidate: Candidate): TfjsCoreUser[] {
  const users: TfjsCoreUser[] = [
    { by: '@relkd/backend', version: tf.version_core, markers: [tf.KernelBackend, tf.Tensor] },
  ];
  const backend: unknown = tf.backend();
  if (backend === null || typeof backend !== 'object' || backend instanceof tf.KernelBackend)
    return users;
  let root = Object.getPrototypeOf(backend) as object | null;
  while (
    root !== null &&
    Object.getPrototypeOf(root) !== Object.prototype &&
    Object.getPrototypeOf(root) !== null
  )
    root = Object.getPrototypeOf(root) as object | null;
  const mod = loaded.get(candidate);
  const { pkg, core } = registeredBy(backend, mod) ? versionsOf(mod) : {};
  users.push({
    by: pkg === undefined ? PACKAGES[candidate] : `${PACKAGES[candidate]} ${pkg}`,
    // tfjs' backend packages pin tfjs-core to their own version (an exact peer dependency).
    version: core ?? pkg,
    markers: [root?.constructor ?? backend],
  });
  return users;
}

/**
 * Whether `mod` is the module whose backend class made `backend`: not when it exports backend
 * classes and none of them did (the application registered that backend name first, from another
 * copy of the package, and tfjs kept it).
 */
function registeredBy(backend: object, mod: unknown): boolean {
  if (mod === null || typeof mod !== 'object') return false;
  const m = (mod as { default?: unknown }).default ?? mod;
  const classes = Object.values(m as Record<string, unknown>).filter(
    (v): v is abstract new (...args: never[]) => unknown =>
      typeof v === 'function' &&
      typeof (v as { prototype?: { readSync?: unknown } }).prototype?.readSync === 'function',
  );
  return classes.length === 0 || classes.some((c) => backend instanceof c);
}

/** A tfjs backend module's version (`version_wasm`, ... or tfjs-node's `version` map). */
function versionsOf(mod: unknown): { pkg?: string; core?: string } {
  if (mod === null || typeof mod !== 'object') return {};
  const m = mod as Record<string, unknown>;
  for (const [k, v] of Object.entries(m))
    if (k.startsWith('version_') && typeof v === 'string') return { pkg: v };
  if (m.version !== null && typeof m.version === 'object') {
    const v = m.version as Record<string, unknown>;
    const pkg = Object.entries(v).find(([k]) => k.startsWith('tfjs-node'))?.[1];
    const core = v['tfjs-core'];
    return {
      ...(typeof pkg === 'string' ? { pkg } : {}),
      ...(typeof core === 'string' ? { core } : {}),
    };
  }
  return 'default' in m ? versionsOf(m.default) : {};
}

/** Maps an import error to a reason. */
function classifyImportError(candidate: Candidate, e: unknown, node: boolean): Unavailable {
  const pkg = PACKAGES[candidate];
  const msg = message(e);
  const code = (e as { code?: unknown } | null)?.code;
  const notFound =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (package|module)|Could not resolve|Failed to resolve|Failed to load url/i.test(
      msg,
    );
  if (notFound && (node || code !== undefined)) {
    if (
      msg.includes(`'${pkg}'`) ||
      msg.includes(`"${pkg}"`) ||
      msg.includes(`${pkg} `) ||
      msg.endsWith(pkg)
    ) {
      return new Unavailable(
        'module-missing',
        `module missing: ${pkg} is not installed. ${installHint(candidate)}.`,
      );
    }
    return new Unavailable(
      'module-missing',
      `module missing: ${pkg} could not load a dependency (${firstLine(msg)}).`,
    );
  }
  if (
    /lib(cuda|cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|cudnn|nvinfer)[\w.]*\.so|cudnn|CUDA/i.test(
      msg,
    )
  ) {
    return new Unavailable(
      'cuda-missing',
      `CUDA libraries missing: ${pkg} is installed but its native code could not load the CUDA/cuDNN libraries (${firstLine(msg)}). ` +
        'tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 on LD_LIBRARY_PATH (see the @relkd/backend README).',
    );
  }
  if (
    /tfjs_binding|\.node\b|native addon|node-pre-gyp|napi|libtensorflow|invalid ELF|wrong ELF/i.test(
      msg,
    )
  ) {
    return new Unavailable(
      'native-addon-missing',
      `native addon missing: ${pkg} is installed but its native TensorFlow binding could not be loaded (${firstLine(msg)}). ` +
        `Reinstall it (\`npm rebuild ${pkg}\`, which downloads libtensorflow) on a supported platform.`,
    );
  }
  if (!node && /specifier|resolve|fetch|import/i.test(msg)) {
    return new Unavailable(
      'module-missing',
      `module missing: ${pkg} could not be imported in this bundle (${firstLine(msg)}). ` +
        `Import it in your application (\`import '${pkg}'\`) — bundlers cannot resolve optional dynamic imports.`,
    );
  }
  return new Unavailable('init-failed', `importing ${pkg} failed: ${firstLine(msg)}`);
}

async function importBackend(
  candidate: Candidate,
  tfName: SelectedBackendName,
  options: UseBackendOptions,
  node: boolean,
) {
  const registered = tf.findBackendFactory(tfName) != null;
  try {
    return await load(candidate, options);
  } catch (e) {
    // A backend the application imported itself is usable even when we cannot import it here
    // (browser bundles); only options that need the module object then fail.
    if (registered) return undefined;
    throw classifyImportError(candidate, e, node);
  }
}

/** The default of `initTimeoutMs`. */
const INIT_TIMEOUT_MS = 30_000;

/**
 * Initialises `tfName` within `options.initTimeoutMs`. `hint` explains a time-out (the WASM
 * threaded worker that never starts in a minified bundle).
 */
async function activate(
  tfName: SelectedBackendName,
  candidate: Candidate,
  options: UseBackendOptions,
  hint = '',
): Promise<void> {
  const ms = options.initTimeoutMs ?? INIT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (!Number.isFinite(ms)) return;
    timer = setTimeout(() => {
      reject(
        new Unavailable(
          'init-timeout',
          `initialisation did not finish within ${ms / 1000} s: tf.setBackend('${tfName}') never settled${hint}; ` +
            `'${tfName}' was removed from tfjs' backends so that tf.ready() does not wait for it`,
        ),
      );
    }, ms);
  });
  try {
    await initialise(tfName, candidate, timeout);
  } catch (e) {
    // tfjs keeps waiting for that initialisation: every later tf.ready() would hang on it.
    // Removing the backend drops it (public API; the backend cannot start in this page anyway).
    if (e instanceof Unavailable && e.kind === 'init-timeout' && tf.findBackendFactory(tfName))
      tf.removeBackend(tfName);
    throw e;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

async function initialise(
  tfName: SelectedBackendName,
  candidate: Candidate,
  timeout: Promise<never>,
): Promise<void> {
  if (tf.findBackendFactory(tfName) == null && !(tfName in registry())) {
    throw new Unavailable(
      'init-failed',
      `initialisation failed: ${PACKAGES[candidate]} loaded but registered no '${tfName}' backend (two copies of @tensorflow/tfjs-core? run \`npm ls @tensorflow/tfjs-core\`).`,
    );
  }
  let ok: boolean;
  try {
    ok = await Promise.race([tf.setBackend(tfName), timeout]);
  } catch (e) {
    if (e instanceof Unavailable) throw e;
    throw new Unavailable(
      'init-failed',
      `initialisation failed: tf.setBackend('${tfName}') threw: ${firstLine(message(e))}`,
    );
  }
  if (!ok) {
    throw new Unavailable(
      'init-false',
      `initialisation returned false: tf.setBackend('${tfName}') resolved false${hintForFalse(tfName)}.`,
    );
  }
  await Promise.race([tf.ready(), timeout]);
}

function hintForFalse(tfName: SelectedBackendName): string {
  switch (tfName) {
    case 'webgl':
      return ' (no WebGL context: headless browser without GPU, or WebGL disabled)';
    case 'webgpu':
      return ' (navigator.gpu is missing or no adapter was found: WebGPU needs a recent Chromium or a flag)';
    case 'wasm':
      return ' (the .wasm binary could not be fetched or compiled: check `wasmPaths`)';
    case 'tensorflow':
      return ' (the native TensorFlow backend could not start)';
    default:
      return '';
  }
}

function registry(): Record<string, unknown> {
  return (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
}

async function attempt(
  candidate: Candidate,
  requested: BackendName,
  node: boolean,
  options: UseBackendOptions,
  tried: string[],
): Promise<Omit<BackendInfo, 'tried'>> {
  switch (candidate) {
    case 'nodeGpu':
    case 'node': {
      if (!node)
        throw new Unavailable('needs-browser', `${PACKAGES[candidate]} runs only in Node.js.`);
      // tfjs-node and tfjs-node-gpu both register 'tensorflow'; never load the second one.
      const existing = tf.findBackendFactory('tensorflow') != null;
      if (!existing) await importBackend(candidate, 'tensorflow', options, node);
      const previous = tf.engine().backendName as string | null;
      await activate('tensorflow', candidate, options);
      const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean; isGPUPackage?: boolean };
      const onGpu = be.isUsingGpuDevice ?? be.isGPUPackage ?? candidate === 'nodeGpu';
      if (candidate === 'nodeGpu' && !onGpu) {
        const why =
          'CUDA libraries missing: @tensorflow/tfjs-node-gpu loaded, but TensorFlow found no usable GPU (CUDA 11.2 / cuDNN 8.1 ' +
          'not on the library path, or no NVIDIA GPU visible) and runs on the CPU';
        if (requested === 'gpu') {
          if (previous != null && previous !== 'tensorflow') await tf.setBackend(previous);
          throw new Unavailable('cuda-missing', `${why}.`);
        }
        tried.push(`gpu (${PACKAGES.nodeGpu}): ${why}; using it on the CPU.`);
      }
      return { name: 'tensorflow', device: onGpu ? 'gpu' : 'cpu', float32: true, gradients: true };
    }
    case 'wasm': {
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
    }
    case 'cpu':
      await importBackend('cpu', 'cpu', options, node);
      await activate('cpu', 'cpu', options);
      return { name: 'cpu', device: 'cpu', float32: true, gradients: true };
    case 'webgl':
    case 'webgpu': {
      if (node) {
        throw new Unavailable(
          'needs-browser',
          `${PACKAGES[candidate]} needs a browser (${candidate === 'webgl' ? 'WebGL' : 'WebGPU'}); in Node use 'gpu' (tfjs-node-gpu), 'wasm' or 'cpu'.`,
        );
      }
      await importBackend(candidate, candidate, options, node);
      await activate(candidate, candidate, options);
      // tfjs-backend-webgl's floatPrecision() reports 16 whenever WEBGL_RENDER_FLOAT32_ENABLED is
      // true (tensorflow/tfjs#6980), so read the flag itself for webgl.
      const float32 =
        candidate === 'webgl'
          ? tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')
          : ((tf.backend() as unknown as { floatPrecision?: () => number }).floatPrecision?.() ??
              32) >= 32;
      return {
        name: candidate,
        device: 'gpu',
        float32,
        gradients: true,
      };
    }
  }
}

function unavailableError(
  requested: BackendName,
  node: boolean,
  failures: { candidate: Candidate; error: Unavailable }[],
): RelkdError {
  const where = node ? 'Node.js' : 'this browser';
  const lines = failures.map(({ candidate, error }) => {
    const text = `${LABELS[candidate]} (${PACKAGES[candidate]}): ${error.message}`;
    return /[.)]$/.test(text) ? text : `${text}.`;
  });
  const head =
    requested === 'auto'
      ? `useBackend('auto'): no backend could be used in ${where}.`
      : `useBackend('${requested}'): the backend is unavailable in ${where}.`;
  const tail =
    requested === 'auto'
      ? ` Install and import ${PACKAGES.cpu} (always works) or ${PACKAGES.wasm}.`
      : requested === 'cpu'
        ? ''
        : ` Or call useBackend('auto') to fall back to the best available backend.`;
  const first = failures[0];
  return new RelkdError('BACKEND_UNAVAILABLE', `${head} ${lines.join(' ')}${tail}`, {
    requested,
    packages: failures.map((f) => PACKAGES[f.candidate]),
    reasons: failures.map((f) => f.error.kind),
    ...(first ? { package: PACKAGES[first.candidate], reason: first.error.kind } : {}),
  });
}

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

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (e !== null && typeof e === 'object' && 'message' in e)
    return String((e as { message: unknown }).message);
  return String(e);
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
