import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { labelsHash } from '@relkd/teacher-outputs';
import { TeacherOutputsWriter } from '@relkd/teacher-outputs/node';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyIdx } from './testing/tinyIdx';

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const temps: string[] = [];
const temp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const o of temps) rmSync(o, { recursive: true, force: true });
});

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

/** The tiny data set's training labels, in file order (IDX: 8-byte header). */
function trainLabels(dir: string): Uint8Array {
  const file = join(dir, 'train-labels-idx1-ubyte');
  const bytes = existsSync(file) ? readFileSync(file) : gunzipSync(readFileSync(`${file}.gz`));
  return new Uint8Array(bytes.subarray(8));
}

/**
 * Writes teacher outputs for `labels` as an outside exporter would: a "teacher" whose logits put
 * 4 on the true class (and 0.5 on the next one), 120 rows per shard, rows in reverse order.
 */
async function writeOutputs(
  dir: string,
  labels: ArrayLike<number>,
  hashOf = labels,
): Promise<void> {
  const w = await TeacherOutputsWriter.create(dir, {
    dataset: { name: 'tiny-train', labelsHash: labelsHash(hashOf) },
    outputs: { logits: { shape: [3] } },
    shardRows: 120,
  });
  const rows = Array.from({ length: labels.length }, (_, i) => labels.length - 1 - i);
  const logits = new Float32Array(rows.length * 3);
  rows.forEach((r, i) => {
    logits[i * 3 + labels[r]!] = 4;
    logits[i * 3 + ((labels[r]! + 1) % 3)] = 0.5;
  });
  await w.append(rows, { logits });
  await w.close();
}

/**
 * Writes what MTKD-SSR reads, as `export_torch.py --stages --pooled [--stage-logits]` would: the
 * logits of {@link writeOutputs}, pooled stage outputs `stage1..3` ([16], [32], [64], the widths
 * of the example's 3-stage teacher) and, with `stageLogits`, the stage heads' logits.
 */
async function writeStageOutputs(
  dir: string,
  labels: ArrayLike<number>,
  stageLogits: boolean,
): Promise<void> {
  const widths = { stage1: 16, stage2: 32, stage3: 64 };
  const heads = stageLogits ? ['stage1_logits', 'stage2_logits'] : [];
  const w = await TeacherOutputsWriter.create(dir, {
    dataset: { name: 'tiny-train', labelsHash: labelsHash(labels) },
    outputs: {
      logits: { shape: [3] },
      ...Object.fromEntries(Object.entries(widths).map(([n, c]) => [n, { shape: [c] }])),
      ...Object.fromEntries(heads.map((n) => [n, { shape: [3] }])),
    },
    shardRows: 120,
  });
  const n = labels.length;
  const rows = Array.from({ length: n }, (_, i) => i);
  const outputs: Record<string, Float32Array> = {};
  outputs.logits = new Float32Array(n * 3);
  for (const h of heads) outputs[h] = new Float32Array(n * 3);
  rows.forEach((r) => {
    outputs.logits![r * 3 + labels[r]!] = 4;
    for (const h of heads) outputs[h]![r * 3 + labels[r]!] = 2;
  });
  for (const [name, c] of Object.entries(widths)) {
    // Channel means of a ReLU stage: non-negative, a little class signal in the first channels.
    outputs[name] = Float32Array.from({ length: n * c }, (_, i) =>
      i % c === labels[Math.floor(i / c)]! ? 1 : 0.1 + ((i * 7919) % 97) / 200,
    );
  }
  await w.append(rows, outputs);
  await w.close();
}

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
  '--jobs',
  '1',
];

describe('npm run distill --teacher-outputs DIR', () => {
  const data = writeTinyIdx({ size: 12, classes: 3, train: 360, test: 90 });
  temps.push(data);
  const labels = trainLabels(data);

  it('distils KD from the outputs in DIR instead of the live teacher', async () => {
    const outputs = temp('relkd-tout-');
    await writeOutputs(outputs, labels);
    const out = join(temp('relkd-tout-run-'), 'report');
    const r = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'kd',
      '--teacher-outputs',
      outputs,
      '--out',
      out,
    ]);
    expect(r.output).toContain(`teacher outputs: ${outputs} ('tiny-train', 360 rows, 3 npy shards`);
    expect(r.code, r.output).toBe(0);
    const page = readFileSync(join(out, 'mnist.md'), 'utf8');
    expect(page).toContain('Hinton KD');
  }, 300_000);

  it('distils MTKD-SSR from stored stage outputs and stage-head logits', async () => {
    const outputs = temp('relkd-tout-mtkd-');
    await writeStageOutputs(outputs, labels, true);
    const out = join(temp('relkd-tout-mtkd-run-'), 'report');
    const r = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'mtkd',
      '--teacher-outputs',
      outputs,
      '--out',
      out,
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('replace the live plain teacher for kd, stkd, mtkd');
    const page = readFileSync(join(out, 'mnist.md'), 'utf8');
    expect(page).toContain('MTKD-SSR');
    // No teacher stage heads are fitted here: their logits come from the outputs.
    expect(page).not.toContain('MTKD-SSR teacher stage heads');
  }, 300_000);

  it('refuses MTKD-SSR outputs without the stage outputs or stage logits it reads, before anything trains', async () => {
    const out = join(temp('relkd-tout-mtkd-bad-'), 'report');
    const logitsOnly = temp('relkd-tout-logits-');
    await writeOutputs(logitsOnly, labels);
    const a = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'mtkd',
      '--teacher-outputs',
      logitsOnly,
      '--out',
      out,
    ]);
    expect(a.code).toBe(1);
    expect(a.output).toContain(
      `INVALID_OPTION] recipes.mtkd: ${logitsOnly}/teacher.json has no output 'stage1'`,
    );
    const noHeads = temp('relkd-tout-noheads-');
    await writeStageOutputs(noHeads, labels, false);
    const b = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'mtkd',
      '--teacher-outputs',
      noHeads,
      '--out',
      out,
    ]);
    expect(b.code).toBe(1);
    expect(b.output).toContain(`${noHeads}/teacher.json has no output 'stage1_logits'`);
    expect(b.output).not.toMatch(/teacher \(plain\): test accuracy/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);

  it('refuses outputs of another data set before anything trains or is written', async () => {
    const out = join(temp('relkd-tout-bad-'), 'report');
    const fewer = temp('relkd-tout-fewer-');
    await writeOutputs(fewer, labels.subarray(0, 300));
    const a = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'kd',
      '--teacher-outputs',
      fewer,
      '--out',
      out,
    ]);
    expect(a.code).toBe(1);
    expect(a.output).toMatch(
      /SHAPE_MISMATCH.*teacher\.json: the teacher outputs cover 300 rows of 'tiny-train' but the training data has 360/,
    );
    const shuffled = temp('relkd-tout-order-');
    await writeOutputs(shuffled, labels, [...labels].reverse());
    const b = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'kd',
      '--teacher-outputs',
      shuffled,
      '--out',
      out,
    ]);
    expect(b.code).toBe(1);
    expect(b.output).toMatch(/DATASET_MISMATCH.*teacher\.json/);
    expect(existsSync(out)).toBe(false);
    const c = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'vrm',
      '--teacher-outputs',
      shuffled,
      '--out',
      out,
    ]);
    expect(c.code).toBe(1);
    expect(c.output).toContain('--teacher-outputs works with --methods kd,stkd,mtkd');
    const d = await distill([
      ...tinyRun,
      '--data',
      data,
      '--methods',
      'kd',
      '--teacher-outputs',
      join(out, 'none'),
      '--out',
      out,
    ]);
    expect(d.code).toBe(1);
    expect(d.output).toMatch(/--teacher-outputs: .*teacher\.json not found/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);
});
