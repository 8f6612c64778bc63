import * as tf from '@tensorflow/tfjs-core';
import { fileSystem } from './files';

const SCHEME = 'file://';

/** Registration state of one tfjs-core instance (its IO registry). */
interface RouterState {
  /** `undefined` until the first {@link registerFileRouters} call, then its result. */
  active: boolean | undefined;
  /** `true` while a router asks the registry whether another router handles a URL. */
  probing: boolean;
}

const STATE_KEY = Symbol.for('@relkd/layers/node:fileRouters');

/**
 * The state for the tfjs-core instance in use, shared by every copy of this module (ESM and CJS
 * builds loaded side by side register once): a process-wide map keyed by that tfjs-core's
 * `registerLoadRouter` function, so a second tfjs-core instance (its own registry) gets its own.
 */
function state(): RouterState {
  const g = globalThis as unknown as Record<symbol, WeakMap<object, RouterState> | undefined>;
  g[STATE_KEY] ??= new WeakMap();
  const map = g[STATE_KEY];
  const key = tf.io.registerLoadRouter;
  let s = map.get(key);
  if (s === undefined) {
    s = { active: undefined, probing: false };
    map.set(key, s);
  }
  return s;
}

function pathOf(url: string | string[]): string | null {
  // tfjs-node's array form (binary GraphDef + manifest) is not supported: leave it to others.
  if (typeof url !== 'string' || !url.startsWith(SCHEME) || url.length === SCHEME.length)
    return null;
  return url;
}

/**
 * A router that answers `file://` URLs unless another registered router does (tfjs-node,
 * imported after relkd): it asks the registry, with itself muted, before answering, so
 * `getLoadHandlers` / `getSaveHandlers` never return two handlers for one URL.
 */
function router(kind: 'load' | 'save'): (url: string | string[]) => tf.io.IOHandler {
  // tfjs-core's IORouter type says IOHandler, but its registry skips routers that return null.
  return ((url: string | string[]): tf.io.IOHandler | null => {
    const s = state();
    if (s.probing) return null;
    const path = pathOf(url);
    if (path === null) return null;
    s.probing = true;
    let others: number;
    try {
      others = (kind === 'load' ? tf.io.getLoadHandlers(url) : tf.io.getSaveHandlers(url)).length;
    } finally {
      s.probing = false;
    }
    return others > 0 ? null : fileSystem(path);
  }) as (url: string | string[]) => tf.io.IOHandler;
}

/**
 * Registers `file://` load and save routers with tfjs-core's IO registry, so that
 * `tfl.loadLayersModel('file://dir/model.json')` and `model.save('file://dir')` work in plain
 * Node without tfjs-node, in tfjs-node's layout (`model.json` + `weights.bin`, atomic saves,
 * `RelkdError` `IO_ERROR` on missing or corrupt files; see `fileSystem`). Importing
 * `@relkd/layers/node` calls it; calling it again does nothing.
 *
 * Does nothing when `file://` handlers are already registered (tfjs-node): returns `false`
 * then. When tfjs-node is imported *after* relkd, relkd's routers step aside for its handlers.
 * Loading also accepts the model's directory instead of its `model.json`.
 *
 * @returns `true` when relkd's routers are registered (now or by an earlier call), `false` when
 *   another `file://` handler was found and nothing was registered.
 * @example
 * ```ts
 * import '@relkd/layers/node';   // registers the routers (or leaves tfjs-node's in place)
 * const teacher = await tfl.loadLayersModel('file://teacher/model.json');
 * await teacher.save('file://copy-of-teacher');
 * ```
 */
export function registerFileRouters(): boolean {
  const s = state();
  if (s.active !== undefined) return s.active;
  const load = tf.io.getLoadHandlers(`${SCHEME}relkd-probe/${'model.json'}`).length > 0;
  const save = tf.io.getSaveHandlers(`${SCHEME}relkd-probe`).length > 0;
  if (load && save) {
    s.active = false;
    return false;
  }
  tf.io.registerLoadRouter(router('load'));
  tf.io.registerSaveRouter(router('save'));
  s.active = true;
  return true;
}
