import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyIdx } from './testing/tinyIdx';

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

/** Runs the CLI (TypeScript through tsx's loader) and resolves with its exit code and output. */
function distill(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += String(d);
    });
    child.stderr.on('data', (d) => {
      output += String(d);
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

afterAll(() => {
  for (const o of temps) rmSync(o, { recursive: true, force: true });
});

/** A tiny 12x12, 3-class IDX data set: seconds per run. */
const tinyData = () => writeTinyIdx({ size: 12, classes: 3, train: 360, test: 90 });
const tinyRun = [
  '--quick',
  '--epochs',
  '1',
  '--train-size',
  '60',
  '--val-size',
  '100',
  '--test-size',
  '90',
  '--no-cache',
];

describe('npm run distill (examples/mnist CLI)', () => {
  // Both teachers (MTKD-SSR's stage heads too) and runs with and without a teacher: on 2 workers
  // the runs without a teacher start while the teachers train.
  it('gives the same results on 1 and 2 worker processes, and keeps the page text', async () => {
    const data = tinyData();
    temps.push(data);
    type Row = { arm: string; test: number[]; curve: number[] };
    const results: { teachers: unknown[]; rows: [string, number[], number[]][] }[] = [];
    // The third run (a subset of the methods) reads its student runs back from the cache the
    // second one stored: each under its own job's key.
    for (const [jobs, cached] of [
      ['1', false],
      ['2', false],
      ['2', true],
    ] as const) {
      const out = temp(`relkd-distill-${jobs}-`);
      // A page without result markers: the run appends its section and keeps the text.
      writeFileSync(join(out, 'mnist.md'), '# My notes\n\nKeep this paragraph.\n');
      const r = await distill([
        ...tinyRun.filter((a) => !cached || a !== '--no-cache'),
        '--data',
        data,
        '--methods',
        cached ? 'kd,corsd' : 'kd,icc,mtkd,corsd',
        '--jobs',
        jobs,
        '--out',
        out,
      ]);
      expect(r.code, r.output).toBe(0);
      if (jobs === '2' && !cached) expect(r.output).toContain('running on 2 worker processes');
      if (cached) expect(r.output).toContain('reusing 4 cached student runs');
      const page = readFileSync(join(out, 'mnist.md'), 'utf8');
      expect(page).toContain('Keep this paragraph.');
      expect(page).toContain('<!-- results:start -->');
      expect(page).toContain('| Hinton KD |');
      expect(page).toContain('*control:* Deepest-to-shallow self-KD');
      expect(page).toMatch(/data relkd-idx-\w+ \(12×12, 3 classes, sha256 [0-9a-f]{16}\)/);
      const json = JSON.parse(readFileSync(join(out, 'mnist.json'), 'utf8'));
      expect(json.results.map((row: Row) => row.arm)).toEqual(
        cached
          ? ['ce', 'kd', 'corsd', 'selfkd']
          : ['ce', 'kd', 'icc', 'mtkd', 'corsd', 'kd@icc', 'selfkd'],
      );
      expect(json.protocol.data.numClasses).toBe(3);
      results.push({
        teachers: json.teachers.map((t: { kind: string; testAccuracy: number }) => [
          t.kind,
          t.testAccuracy,
        ]),
        rows: json.results.map((row: Row): [string, number[], number[]] => [
          row.arm,
          row.test,
          row.curve,
        ]),
      });
    }
    expect(results[1]).toEqual(results[0]);
    const subset = ['ce', 'kd', 'corsd', 'selfkd'];
    expect(results[2]!.rows).toEqual(results[0]!.rows.filter((row) => subset.includes(row[0])));
  }, 300_000);

  it('--tune writes the chosen configuration; --ablate reports each component against the full method', async () => {
    const data = tinyData();
    temps.push(data);
    const out = temp('relkd-distill-tune-');
    const t = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'kd',
      '--tune',
      '--seeds',
      '1',
      '--out',
      out,
    ]);
    expect(t.code, t.output).toBe(0);
    const tuned = JSON.parse(readFileSync(join(out, 'tuned.json'), 'utf8'));
    expect(tuned.trials.filter((x: { family: string }) => x.family === 'kd')).toHaveLength(6);
    expect(Object.keys(tuned.chosen.kd).sort()).toEqual(['alpha', 'temperature']);
    expect(t.output).toContain('→ chosen:');
    // The compare run reads that file and shows it.
    const c = await distill([...tinyRun, '--data', data, '--methods', 'kd', '--out', out]);
    expect(c.code, c.output).toBe(0);
    expect(readFileSync(join(out, 'mnist.md'), 'utf8')).toContain('tuned by `--tune`');
    const a = await distill([...tinyRun, '--data', data, '--ablate', 'stkd', '--out', out]);
    expect(a.code, a.output).toBe(0);
    const page = readFileSync(join(out, 'mnist.md'), 'utf8');
    expect(page).toContain('STKD without mixup');
    expect(page).toContain('Δ vs full method');
  }, 300_000);

  it('rejects a data set the models cannot take before anything trains or is written', async () => {
    const data = writeTinyIdx({ size: 6, classes: 3, train: 200, test: 30 });
    temps.push(data);
    const out = join(temp('relkd-distill-bad-'), 'report');
    const r = await distill([...tinyRun, '--data', data, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.output).toContain('image height 6 is outside what the models accept (8-128 pixels)');
    expect(existsSync(out)).toBe(false);
    const small = writeTinyIdx({ size: 10, classes: 3, train: 200, test: 30 });
    temps.push(small);
    const few = await distill([...tinyRun, '--data', small, '--train-size', '150', '--out', out]);
    expect(few.code).toBe(1);
    expect(few.output).toMatch(
      /200 training images are fewer than --val-size 100 \+ --train-size 150/,
    );
  }, 120_000);

  it('documents the options and rejects bad values with a clear message', async () => {
    const h = await distill(['--help']);
    expect(h.code).toBe(0);
    for (const flag of ['--data DIR', '--tune', '--ablate METHOD', '--val-size', '--arch'])
      expect(h.output).toContain(flag);
    const r = await distill(['--jobs', '0']);
    expect(r.code).toBe(1);
    expect(r.output).toContain('--jobs must be an integer in [1, 64]');
    const u = await distill(['--ablate', 'kd']);
    expect(u.code).toBe(1);
    expect(u.output).toContain('CE and KD have no components to ablate');
    const typo = await distill(['--tunee']);
    expect(typo.code).toBe(1);
    expect(typo.output).toMatch(/Unknown option '--tunee'/);
  }, 60_000);
});
