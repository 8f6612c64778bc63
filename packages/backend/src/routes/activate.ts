import * as tf from '@tensorflow/tfjs-core';
import type { SelectedBackendName, UseBackendOptions } from '../backendTypes';
import { PACKAGES } from './packages';
import { type RouteId, Unavailable } from './route';
import { firstLine, message } from './text';

/** The default of `initTimeoutMs`. */
export const INIT_TIMEOUT_MS = 30_000;

/**
 * Initialises `tfName` within `options.initTimeoutMs`. `hint` explains a time-out (the WASM
 * threaded worker that never starts in a minified bundle).
 */
export async function activate(
  tfName: SelectedBackendName,
  candidate: RouteId,
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

export async function initialise(
  tfName: SelectedBackendName,
  candidate: RouteId,
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

export function hintForFalse(tfName: SelectedBackendName): string {
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

export function registry(): Record<string, unknown> {
  return (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
}
