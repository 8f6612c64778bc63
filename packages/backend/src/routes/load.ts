import * as tf from '@tensorflow/tfjs-core';
import type { SelectedBackendName, UseBackendOptions } from '../backendTypes';
import { defaultImport } from '../environment';
import { classifyImportError } from './classifyImportError';
import { PACKAGES } from './packages';
import type { RouteId } from './route';

/** The backend modules loaded (or given), for their versions. */
export const loaded = new Map<RouteId, unknown>();

export async function load(candidate: RouteId, options: UseBackendOptions): Promise<unknown> {
  const mod = await loadPackage(PACKAGES[candidate], options);
  loaded.set(candidate, mod);
  return mod;
}

export function loadPackage(pkg: string, options: UseBackendOptions): Promise<unknown> {
  const given = options.modules?.[pkg];
  return given !== undefined
    ? Promise.resolve(given)
    : (options.importModule ?? defaultImport)(pkg);
}

export async function importBackend(
  candidate: RouteId,
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
