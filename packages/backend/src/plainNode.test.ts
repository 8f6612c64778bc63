import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// Vitest transforms modules and resolves packages its own way, which hides the ESM/CJS
// resolution problems tfjs has in plain Node. These tests run the BUILT package in child `node`
// processes, the way an application does.
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(pkgDir, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function distIsFresh(): boolean {
  try {
    const built = Math.min(
      ...['index.js', 'index.cjs', 'gradients.js', 'gradients.cjs'].map(
        (f) => statSync(join(pkgDir, 'dist', f)).mtimeMs,
      ),
    );
    return built >= newestMtime(join(pkgDir, 'src'));
  } catch {
    return false;
  }
}

function node(args: string[], input?: string) {
  const r = spawnSync(process.execPath, args, {
    cwd: pkgDir,
    encoding: 'utf8',
    input,
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('plain Node (built package)', () => {
  beforeAll(() => {
    // `npm test` builds first (turbo); build here only when dist is missing or older than src.
    if (!distIsFresh()) {
      const r = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsup'), [], {
        cwd: pkgDir,
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (r.status !== 0)
        throw new Error(`building @relkd/backend failed:\n${r.stdout}\n${r.stderr}`);
    }
  }, 320_000);

  it('ESM: scripts/smoke.mjs (gradients, conv/depthwise/gather on wasm vs cpu, auto fallback)', () => {
    const r = node(['scripts/smoke.mjs']);
    expect(r.out).toContain('smoke.mjs: all good');
    expect(r.status).toBe(0);
  });

  it('CJS: scripts/smoke.cjs (require of both entries)', () => {
    const r = node(['scripts/smoke.cjs']);
    expect(r.out).toContain('smoke.cjs: all good');
    expect(r.status).toBe(0);
  });

  it('a wrong wasmPaths gives BACKEND_UNAVAILABLE (setBackend resolved false), not a hang or a success', () => {
    const script = `
      import { useBackend } from '@relkd/backend';
      try { await useBackend('wasm', { wasmPaths: '/nonexistent/' }); console.log('RESOLVED'); }
      catch (e) { console.log('CODE=' + e.code); console.log(e.message); }`;
    const r = node(['--input-type=module', '-'], script);
    expect(r.out).toContain('CODE=BACKEND_UNAVAILABLE');
    expect(r.out).toContain("tf.setBackend('wasm') resolved false");
    expect(r.out).toContain('check `wasmPaths`');
    expect(r.out).not.toContain('RESOLVED');
  });

  it('the generated gradient-config list matches the installed tfjs-core', () => {
    const r = node([join(repoRoot, 'tools', 'scripts', 'gen-gradient-configs.mjs'), '--check']);
    expect(r.out).toContain('up to date');
    expect(r.status).toBe(0);
  });
});
