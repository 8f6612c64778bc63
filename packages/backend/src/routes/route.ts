import type { BackendInfo, BackendName, UseBackendOptions } from '../backendTypes';

/** Why a candidate could not be used. `kind` is stable; `message` is for humans. */
export type FailureKind =
  | 'module-missing'
  | 'native-addon-missing'
  | 'cuda-missing'
  | 'init-false'
  | 'init-failed'
  | 'init-timeout'
  | 'needs-browser'
  | 'module-needed'
  | 'driver-missing'
  | 'software-adapter';

export class Unavailable extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** The routes {@link useBackend} can take; each is one module under `routes/`. */
export type RouteId = 'nodeGpu' | 'node' | 'wasm' | 'cpu' | 'webgl' | 'webgpu' | 'dawn';

/** What a route gets: the request, where we run, the options and the `tried` lines so far. */
export interface RouteContext {
  requested: BackendName;
  node: boolean;
  options: UseBackendOptions;
  /** `tried` of the result: a route may add a line (e.g. tfjs-node-gpu used on the CPU). */
  tried: string[];
}

/**
 * One way to a tfjs backend. `attempt` loads what it needs, initialises the backend and returns
 * what was selected, or throws {@link Unavailable} with the reason.
 */
export interface Route {
  readonly id: RouteId;
  attempt(context: RouteContext): Promise<Omit<BackendInfo, 'tried'>>;
}
