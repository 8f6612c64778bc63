import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type RelkdWarning, setWarningHandler } from '../errors/warnings';
import { checkTfjsCore } from './checkTfjsCore';

function collect(): RelkdWarning[] {
  const seen: RelkdWarning[] = [];
  setWarningHandler((w) => {
    seen.push(w);
  });
  return seen;
}

/** What a second copy of tfjs-core looks like from here: its own classes, another version. */
function fakeCopy(version: string) {
  return { version_core: version, KernelBackend: class KernelBackend {}, Tensor: class Tensor {} };
}

afterEach(() => {
  setWarningHandler(undefined);
});

describe('checkTfjsCore', () => {
  it('one copy (this process): no warning, one copy reported with its users', () => {
    const seen = collect();
    const copies = checkTfjsCore([
      { by: '@relkd/backend', version: tf.version_core, markers: [tf.KernelBackend, tf.Tensor] },
    ]);
    expect(copies).toEqual([
      { version: tf.version_core, usedBy: ['@relkd/core', '@relkd/backend'] },
    ]);
    expect(seen).toEqual([]);
  });

  it('a second copy (tfjs-core 4.21.0 used by a backend package): one warning naming both versions and the fix', () => {
    const seen = collect();
    const other = fakeCopy('4.21.0');
    const users = [
      {
        by: '@tensorflow/tfjs-backend-wasm 4.21.0',
        version: other.version_core,
        markers: [other.KernelBackend],
      },
    ];
    const copies = checkTfjsCore(users);
    expect(copies.map((c) => c.version)).toEqual([tf.version_core, '4.21.0']);
    expect(seen).toHaveLength(1);
    const w = seen[0]!;
    expect(w.code).toBe('DUPLICATE_TFJS_CORE');
    expect(w.message).toMatch(/^\[relkd:DUPLICATE_TFJS_CORE\] 2 copies of @tensorflow\/tfjs-core/);
    expect(w.message).toContain(`${tf.version_core} (used by @relkd/core)`);
    expect(w.message).toContain('4.21.0 (used by @tensorflow/tfjs-backend-wasm 4.21.0)');
    expect(w.message).toContain(`npm i @tensorflow/tfjs@${tf.version_core}`);
    expect(w.message).toContain('npm dedupe');
    expect(w.message).toContain('npm ls @tensorflow/tfjs-core');
    expect(w.details).toMatchObject({ versions: `${tf.version_core} vs 4.21.0` });
    // the same situation again: no second warning
    checkTfjsCore(users);
    expect(seen).toHaveLength(1);
  });

  it('users on one foreign copy are merged into one copy', () => {
    const seen = collect();
    const other = fakeCopy('4.20.0');
    const copies = checkTfjsCore([
      { by: 'a', version: '4.20.0', markers: [other.KernelBackend] },
      { by: 'b', markers: [other.KernelBackend, other.Tensor] },
    ]);
    expect(copies[1]).toEqual({ version: '4.20.0', usedBy: ['a', 'b'] });
    expect(seen).toHaveLength(1);
  });

  it('a copy loaded before relkd (the global Tensor class is not ours) is reported', () => {
    const globals = (globalThis as unknown as { _tfGlobals: Map<string, unknown> })._tfGlobals;
    const original = globals.get('Tensor');
    expect(original).toBe(tf.Tensor); // this process: relkd's copy came first
    const other = fakeCopy('4.19.0');
    globals.set('Tensor', other.Tensor);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const copies = checkTfjsCore();
      expect(copies).toHaveLength(2);
      expect(copies[1]!.version).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      const text = String(warn.mock.calls[0]![0]);
      expect(text).toContain('version unknown (used by code loaded before relkd');
      expect(text).toContain('npm dedupe');
      // ...and named when another user of that copy says which version it is
      const seen = collect();
      checkTfjsCore([
        {
          by: '@tensorflow/tfjs-backend-cpu 4.19.0',
          version: '4.19.0',
          markers: [other.KernelBackend],
        },
      ]);
      expect(seen[0]!.message).toContain(
        '4.19.0 (used by @tensorflow/tfjs-backend-cpu 4.19.0, code loaded before relkd',
      );
    } finally {
      globals.set('Tensor', original);
      warn.mockRestore();
    }
  });
});
