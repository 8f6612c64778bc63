#!/usr/bin/env node
// Release checks for every publishable package (packages/* that are not private):
//   1. publint (strict: warnings fail)             2. attw --pack (types resolve in every mode)
//   3. npm pack every package, install the tarballs into an empty temp project next to only
//      @tensorflow/tfjs-core + -backend-cpu + -backend-wasm (+ tfjs-layers for @relkd/layers),
//      then run tools/smoke/smoke.mjs (ESM) and smoke.cjs (CJS) there with plain `node` (every
//      main entry, plus the `@relkd/layers/node` subpath: a file:// save + load round trip, and
//      `@relkd/teacher-outputs/node`: an export, read back and offline KD epoch).
//   0. (first) size budgets: each tarball's packed and unpacked bytes (`npm pack --dry-run`)
//      within SIZE_BUDGETS below.
// Usage: node tools/scripts/check-packages.mjs [--skip-lint] [--skip-install] [--keep]
//        (both skips: the size budgets only, in seconds)
// Needs built packages (npm run build) and the npm registry (or a warm npm cache).
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What each published tarball may weigh, in bytes: `packed` (the .tgz users download) and
 * `unpacked` (what lands in node_modules). About 20% over the sizes measured when they were set
 * (issue 18: no source maps, tfjs-core's gradients bundled against its public entry):
 *   package                    packed    unpacked
 *   @relkd/affinity-graph      30.3 kB   108.9 kB
 *   @relkd/backend             80.7 kB   357.6 kB   (issues 16/17/19: the Dawn WebGPU route, the fused
 *                                                   host kernels moved in from core, the virtual-view
 *                                                   kernel; 67.5 / 306.8 kB before)
 *   @relkd/class-correlation   24.2 kB    91.6 kB
 *   @relkd/core                57.7 kB   209.4 kB
 *   @relkd/layers              93.2 kB   331.8 kB   (issue 20: the offline teacher in the Distiller,
 *                                                   MTKD-SSR from stored stage outputs; 87.7 / 310.7 kB
 *                                                   before the latter, 75.7 / 269.0 kB when first set)
 *   @relkd/mixup-similarity    12.9 kB    57.6 kB
 *   @relkd/relation-network    32.3 kB   117.4 kB
 *   @relkd/stage-distill       29.4 kB   112.0 kB
 *   @relkd/teacher-outputs     44.5 kB   167.6 kB   (issue 20; hyparquet is a dependency, not bundled)
 * Raise a budget for code users need, never for build by-products (maps, fixtures, duplicates).
 */
const kB = 1000;
const SIZE_BUDGETS = {
  '@relkd/affinity-graph': { packed: 36 * kB, unpacked: 130 * kB },
  '@relkd/backend': { packed: 97 * kB, unpacked: 430 * kB },
  '@relkd/class-correlation': { packed: 29 * kB, unpacked: 110 * kB },
  '@relkd/core': { packed: 70 * kB, unpacked: 250 * kB },
  '@relkd/layers': { packed: 112 * kB, unpacked: 398 * kB },
  '@relkd/mixup-similarity': { packed: 16 * kB, unpacked: 70 * kB },
  '@relkd/relation-network': { packed: 39 * kB, unpacked: 141 * kB },
  '@relkd/stage-distill': { packed: 35 * kB, unpacked: 135 * kB },
  '@relkd/teacher-outputs': { packed: 53 * kB, unpacked: 201 * kB },
};
const fmt = (bytes) =>
  bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / kB).toFixed(1)} kB`;
const args = new Set(process.argv.slice(2));
const TFJS = '4.22.0';

const pkgs = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({
    dir: join(root, 'packages', d.name),
    json: JSON.parse(readFileSync(join(root, 'packages', d.name, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.json.private);

const run = (cmd, argv, opts = {}) => {
  console.log(`$ ${cmd} ${argv.join(' ')}${opts.cwd ? `   (in ${opts.cwd})` : ''}`);
  return execFileSync(cmd, argv, { stdio: 'inherit', ...opts });
};

let failures = 0;
const step = (name, fn) => {
  try {
    fn();
  } catch (e) {
    failures++;
    console.error(`FAILED: ${name}: ${e.message.split('\n')[0]}`);
  }
};

for (const p of pkgs) {
  const name = p.json.name;
  step(`size budget ${name}`, () => {
    const budget = SIZE_BUDGETS[name];
    if (budget === undefined)
      throw new Error(
        `${name} has no size budget: add one to SIZE_BUDGETS in tools/scripts/check-packages.mjs`,
      );
    const [info] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: p.dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const over = [];
    for (const [what, size] of [
      ['packed', info.size],
      ['unpacked', info.unpackedSize],
    ]) {
      if (size > budget[what])
        over.push(`${what} ${fmt(size)} (${size} B) is over its budget of ${fmt(budget[what])}`);
    }
    const line = `${name}: packed ${fmt(info.size)} (budget ${fmt(budget.packed)}), unpacked ${fmt(info.unpackedSize)} (budget ${fmt(budget.unpacked)}), ${info.entryCount} files`;
    if (over.length > 0) {
      const largest = [...info.files]
        .sort((a, b) => b.size - a.size)
        .slice(0, 3)
        .map((f) => `${f.path} ${fmt(f.size)}`)
        .join(', ');
      throw new Error(
        `${over.join('; ')}. Largest files: ${largest}. ` +
          `See \`npm pack --dry-run -w ${name}\`; ship only what users need, or raise the budget ` +
          'in tools/scripts/check-packages.mjs if the growth is code users need.',
      );
    }
    console.log(`size ok  ${line}`);
  });
}

if (!args.has('--skip-lint')) {
  for (const p of pkgs) {
    step(`publint ${p.json.name}`, () =>
      run('npx', ['--no-install', 'publint', 'run', p.dir, '--strict', '--pack', 'npm']),
    );
    step(`attw ${p.json.name}`, () =>
      run('npx', ['--no-install', 'attw', '--pack', p.dir, '--format', 'table-flipped']),
    );
  }
}

if (!args.has('--skip-install')) {
  const tmp = mkdtempSync(join(tmpdir(), 'relkd-pack-'));
  console.log(`packing into ${tmp}`);
  const tarballs = pkgs.map((p) => {
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], {
      cwd: p.dir,
      encoding: 'utf8',
    });
    return join(tmp, out.trim().split('\n').pop());
  });
  const app = join(tmp, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'relkd-pack-check', private: true, version: '0.0.0' }, null, 2),
  );
  step('install tarballs into an empty project', () =>
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        `@tensorflow/tfjs-core@${TFJS}`,
        `@tensorflow/tfjs-backend-cpu@${TFJS}`,
        `@tensorflow/tfjs-backend-wasm@${TFJS}`,
        `@tensorflow/tfjs-layers@${TFJS}`,
        ...tarballs,
      ],
      { cwd: app },
    ),
  );
  for (const f of ['smoke.mjs', 'smoke.cjs', 'smoke-common.cjs'])
    copyFileSync(join(root, 'tools', 'smoke', f), join(app, f));
  step('one copy of tfjs-core in the app', () =>
    run('npm', ['ls', '@tensorflow/tfjs-core'], { cwd: app }),
  );
  step('plain node ESM smoke', () => run('node', ['smoke.mjs'], { cwd: app }));
  step('plain node CJS smoke', () => run('node', ['smoke.cjs'], { cwd: app }));
  if (!args.has('--keep')) rmSync(tmp, { recursive: true, force: true });
}

if (failures > 0) {
  console.error(`${failures} package check(s) failed`);
  process.exit(1);
}
console.log('package checks passed');
