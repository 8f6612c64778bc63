import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const outs: string[] = [];

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
  for (const o of outs) rmSync(o, { recursive: true, force: true });
});

describe('npm run distill (examples/mnist CLI)', () => {
  it('gives the same results on 1 and 2 worker processes', async () => {
    const tiny = [
      '--quick',
      '--methods',
      'kd,corsd',
      '--epochs',
      '1',
      '--train-size',
      '64',
      '--test-size',
      '200',
    ];
    type Row = { method: string; finals: number[]; curve: number[] };
    type Teacher = { kind: string; testAccuracy: number };
    const results: { teachers: Teacher[]; rows: Row[] }[] = [];
    for (const jobs of ['1', '2']) {
      const out = mkdtempSync(join(tmpdir(), `relkd-distill-${jobs}-`));
      outs.push(out);
      // A page without result markers: the run appends its section and keeps the text.
      writeFileSync(join(out, 'mnist.md'), '# My notes\n\nKeep this paragraph.\n');
      const r = await distill([...tiny, '--jobs', jobs, '--out', out]);
      expect(r.code, r.output).toBe(0);
      if (jobs === '2') expect(r.output).toContain('running on 2 worker processes');
      const page = readFileSync(join(out, 'mnist.md'), 'utf8');
      expect(page).toContain('Keep this paragraph.');
      expect(page).toContain('<!-- results:start -->');
      expect(page).toContain('| Hinton KD |');
      const json = JSON.parse(readFileSync(join(out, 'mnist.json'), 'utf8'));
      expect(json.results.map((row: { method: string }) => row.method)).toEqual([
        'ce',
        'kd',
        'corsd',
      ]);
      results.push({ teachers: json.teachers, rows: json.results });
    }
    const strip = (r: (typeof results)[number]) => ({
      teachers: r.teachers.map((t) => [t.kind, t.testAccuracy]),
      rows: r.rows.map((row) => [row.method, row.finals, row.curve]),
    });
    expect(strip(results[1] as (typeof results)[number])).toEqual(
      strip(results[0] as (typeof results)[number]),
    );
  }, 240_000);

  it('rejects a bad --jobs value with a clear message', async () => {
    const r = await distill(['--jobs', '0']);
    expect(r.code).toBe(1);
    expect(r.output).toContain('--jobs must be an integer in [1, 64]');
  }, 60_000);
});
