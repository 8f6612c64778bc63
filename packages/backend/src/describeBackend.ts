import * as tf from '@tensorflow/tfjs-core';
import { type BackendInfo, getBackendInfo } from './useBackend';

/**
 * A one-line description of the active backend for logs and benchmark reports, e.g.
 * `"wasm (cpu, SIMD, 1 thread, float32, tfjs-core 4.22.0, skipped: gpu (@tensorflow/tfjs-node-gpu), node (@tensorflow/tfjs-node))"`
 * or `"webgpu (gpu, adapter nvidia hopper, float32, tfjs-core 4.22.0, …)"`.
 * Uses the {@link BackendInfo} of the last {@link useBackend} call when it is still the active
 * backend (or `info` when given), otherwise what tfjs reports.
 *
 * @example
 * ```ts
 * await useBackend('auto');
 * console.log(`backend: ${describeBackend()}`);
 * ```
 */
export function describeBackend(info?: BackendInfo): string {
  const active = tf.getBackend() as string | undefined;
  const known = info ?? getBackendInfo();
  const version = `tfjs-core ${tf.version_core}`;
  if (known === undefined || (info === undefined && known.name !== active)) {
    return active
      ? `${active} (selected outside @relkd/backend; ${version})`
      : `none (no backend initialised; ${version})`;
  }
  const parts: string[] = [known.device];
  if (known.adapter !== undefined) {
    const a = known.adapter;
    const name = [a.vendor, a.architecture].filter((x) => x !== '').join(' ') || 'unnamed';
    parts.push(`${a.software ? 'software adapter' : 'adapter'} ${name}`);
  }
  if (known.simd !== undefined) parts.push(known.simd ? 'SIMD' : 'no SIMD');
  if (known.threads !== undefined)
    parts.push(`${known.threads} thread${known.threads === 1 ? '' : 's'}`);
  parts.push(known.float32 ? 'float32' : 'float16 only');
  parts.push(version);
  if (known.tried.length > 0)
    parts.push(`skipped: ${known.tried.map((t) => t.split(':')[0]).join(', ')}`);
  return `${known.name} (${parts.join(', ')})`;
}
