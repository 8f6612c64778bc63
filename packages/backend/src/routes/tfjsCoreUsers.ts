import type { TfjsCoreUser } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { loaded } from './load';
import { PACKAGES } from './packages';
import type { RouteId } from './route';

/**
 * Who uses which tfjs-core, for `checkTfjsCore`: this package, and the selected backend when its
 * instance does not derive from this tfjs-core's `KernelBackend` (the backend package registered
 * it from another copy of tfjs-core, e.g. tfjs-backend-wasm 4.21 next to relkd's 4.22).
 */
export function tfjsCoreUsers(candidate: RouteId): TfjsCoreUser[] {
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
