#!/usr/bin/env node
// Release checks for every publishable package (packages/* that are not private):
//   1. publint (strict: warnings fail)             2. attw --pack (types resolve in every mode)
//   3. npm pack every package, install the tarballs into an empty temp project next to only
//      @tensorflow/tfjs-core + -backend-cpu + -backend-wasm (+ tfjs-layers for @relkd/layers),
//      then run tools/smoke/smoke.mjs (ESM) and smoke.cjs (CJS) there with plain `node` (every
//      main entry, plus the `@relkd/layers/node` subpath: a file:// save + load round trip).
// Usage: node tools/scripts/check-packages.mjs [--skip-lint] [--skip-install] [--keep]
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
