import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelkdError, type RelkdErrorCode } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeNpy,
  encodeNpy,
  fromBuffers,
  labelsHash,
  type TeacherManifest,
  TeacherOutputs,
} from './index';
import { exportTeacherOutputs, fromDirectory, TeacherOutputsWriter } from './node';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const N = 50;
const C = 10;
const labels = Array.from({ length: N }, (_, r) => r % 10);
// The formulas both fixture writers (numpy, DuckDB) use; see tools/teacher-outputs/.
const logitOf = (r: number, c: number) => Math.fround(r + c / 100);
// `+ 0`: row 0's first value is -0 in JS but 0 in the files.
const stageOf = (r: number, j: number) => Math.fround(-r - j / 1000) + 0;

/** Every file of a fixture directory as name -> bytes (for in-memory variants). */
function filesOf(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const f of readdirSync(join(fixtures, dir), { withFileTypes: true }))
    if (f.isFile()) out[f.name] = new Uint8Array(readFileSync(join(fixtures, dir, f.name)));
  return out;
}

function manifestOf(files: Record<string, Uint8Array>): TeacherManifest {
  return JSON.parse(new TextDecoder().decode(files['teacher.json']));
}

function withManifest(
  files: Record<string, Uint8Array>,
  edit: (m: TeacherManifest) => void,
): Record<string, Uint8Array> {
  const m = manifestOf(files);
  edit(m);
  return { ...files, 'teacher.json': new TextEncoder().encode(JSON.stringify(m)) };
}

/** Awaits `run`, expects a RelkdError with `code` whose message names `file`. */
async function expectRejects(
  run: () => Promise<unknown>,
  code: RelkdErrorCode,
  file: string,
): Promise<RelkdError> {
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a RelkdError').toBeInstanceOf(RelkdError);
  expect((caught as RelkdError).code, (caught as Error).message).toBe(code);
  expect((caught as RelkdError).message).toContain(file);
  return caught as RelkdError;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['npy', 'parquet'] as const)('TeacherOutputs on the %s fixture', (format) => {
  const writer = format === 'npy' ? /^numpy / : /^DuckDB /;

  it('was written by an engine outside relkd and matches the training data', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, format)));
    expect(String(outputs.manifest.teacher?.writer)).toMatch(writer);
    expect(outputs.manifest.shardFormat).toBe(format);
    expect(outputs.rowCount).toBe(N);
    expect(outputs.numClasses).toBe(C);
    expect(outputs.featureNames).toEqual(['stage']);
    await outputs.check({ rows: N, labels, numClasses: C, datasetName: 'toy-50' });
  });

  it('gathers any rows, in the order asked, across shards', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, format)));
    const rows = [49, 0, 17, 17, 33, 2, 48];
    const before = tf.memory().numTensors;
    const { logits, features } = await outputs.gather(rows);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(logits.shape).toEqual([rows.length, C]);
    expect(features.stage!.shape).toEqual([rows.length, 2, 2, 3]);
    const l = await logits.data();
    const s = await features.stage!.data();
    rows.forEach((r, i) => {
      for (let c = 0; c < C; c++) expect(l[i * C + c]).toBe(logitOf(r, c));
      for (let j = 0; j < 12; j++) expect(s[i * 12 + j]).toBe(stageOf(r, j));
    });
    tf.dispose([logits, features.stage!]);
  });

  it('streams every shard once, each row in exactly one shard', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, format)));
    const seen = new Set<number>();
    let shards = 0;
    for await (const shard of outputs.shards()) {
      shards++;
      shard.index.forEach((r, i) => {
        expect(seen.has(r)).toBe(false);
        seen.add(r);
        expect(shard.outputs.logits![i * C + 3]).toBe(logitOf(r, 3));
      });
      // The shards are not in data set order: the readers must use the index.
      expect(Array.from(shard.index)).not.toEqual([...shard.index].sort((a, b) => a - b));
    }
    expect(shards).toBe(2);
    expect(seen.size).toBe(N);
    expect(outputs.stats.shardReads).toBe(2);
  });

  it('keeps memory bounded: no more than cacheBytes plus one shard, re-reading what it dropped', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, format)), {
      cacheBytes: 0,
    });
    let largest = 0;
    for await (const s of outputs.shards()) largest = Math.max(largest, s.bytes);
    for (let b = 0; b < 5; b++) {
      const rows = Array.from({ length: 8 }, (_, i) => (b * 13 + i * 7) % N);
      const { logits, features } = await outputs.gather(rows);
      const l = await logits.data();
      rows.forEach((r, i) => {
        expect(l[i * C]).toBe(logitOf(r, 0));
      });
      tf.dispose([logits, ...Object.values(features)]);
    }
    expect(outputs.stats.cachedBytes).toBe(0);
    expect(outputs.stats.peakBytes).toBeLessThanOrEqual(largest);
    // 2 streamed + 2 for the row index + at least one per batch (nothing is kept).
    expect(outputs.stats.shardReads).toBeGreaterThanOrEqual(2 + 2 + 5);

    const cached = await TeacherOutputs.open(fromDirectory(join(fixtures, format)));
    await cached.check();
    const { logits } = await cached.gather([1, 2, 3, 40, 41]);
    logits.dispose();
    expect(cached.stats.shardReads).toBe(2);
  });
});

describe('TeacherOutputs.subset', () => {
  it('serves some rows of the data set by position, and checks its own row count', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, 'parquet')));
    const rows = [40, 3, 17, 0];
    const split = outputs.subset(rows);
    expect(split.rowCount).toBe(4);
    await split.prepare({ rows: 4, numClasses: C });
    await expectRejects(() => split.prepare({ rows: 5 }), 'SHAPE_MISMATCH', 'teacher.json');
    const { logits } = await split.gather([3, 1, 1, 0]);
    const l = await logits.data();
    [0, 3, 3, 40].forEach((r, i) => {
      expect(l[i * C + 2]).toBe(logitOf(r, 2));
    });
    logits.dispose();
    await expect(split.gather([4])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(() => outputs.subset([N])).toThrow(/not a row/);
  });

  it("describes the outputs before any shard is read (shapes by name, the manifest's path), and so does a subset", async () => {
    const dir = join(fixtures, 'parquet');
    const outputs = await TeacherOutputs.open(fromDirectory(dir));
    const shapes = Object.fromEntries(
      Object.entries(outputs.manifest.outputs).map(([n, spec]) => [n, spec.shape]),
    );
    expect(outputs.outputShapes).toEqual(shapes);
    expect(outputs.outputShapes.logits).toEqual([C]);
    expect(outputs.description).toBe(`${dir}/teacher.json`);
    expect(outputs.stats.shardReads).toBe(0);
    const split = outputs.subset([1, 2]);
    expect(split.outputShapes).toEqual(shapes);
    expect(split.description).toBe(outputs.description);
    // A copy: changing it does not change the manifest.
    (outputs.outputShapes.logits as number[]).push(1);
    expect(outputs.outputShapes.logits).toEqual([C]);
  });
});

describe('TeacherOutputs.sampler', () => {
  it('orders an epoch shard window by shard window, so a one-shard cache reads each shard once', async () => {
    const outputs = await TeacherOutputs.open(fromDirectory(join(fixtures, 'npy')));
    const sampler = outputs.sampler({ window: 1 });
    expect(() => sampler({ labels, seed: 1, epoch: 0 })).toThrow(/not checked yet/);
    let largest = 0;
    for await (const s of outputs.shards()) largest = Math.max(largest, s.bytes);
    const small = await TeacherOutputs.open(fromDirectory(join(fixtures, 'npy')), {
      cacheBytes: largest,
    });
    await small.check({ rows: N });
    const order = small.sampler({ window: 1 })({ labels, seed: 1, epoch: 0 });
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(small.sampler({ window: 1 })({ labels, seed: 1, epoch: 1 })).not.toEqual(order);
    const shardOf = new Map<number, number>();
    for await (const s of small.shards()) for (const r of s.index) shardOf.set(r, s.shard);
    // window 1: all rows of one shard, then all rows of the other.
    const switches = order.filter((r, i) => i > 0 && shardOf.get(r) !== shardOf.get(order[i - 1]!));
    expect(switches).toHaveLength(1);
    const reads = small.stats.shardReads;
    for (let i = 0; i < N; i += 8) {
      const { logits, features } = await small.gather(order.slice(i, i + 8));
      tf.dispose([logits, ...Object.values(features)]);
    }
    expect(small.stats.shardReads - reads).toBeLessThanOrEqual(2);
    expect(small.stats.peakBytes).toBeLessThanOrEqual(2 * largest);
    expect(() => small.sampler({ window: 1 })({ labels: [1, 2], seed: 1, epoch: 0 })).toThrow(
      /training data has 2 rows/,
    );
    expect(() => small.sampler({ window: 0 })).toThrow(/window/);
  });
});

describe('labelsHash and .npy', () => {
  it('labelsHash agrees with the numpy implementation of the fixture', () => {
    expect(labelsHash(labels)).toBe(manifestOf(filesOf('npy')).dataset.labelsHash);
    expect(labelsHash(labels)).not.toBe(labelsHash([...labels].reverse()));
  });

  it('decodes numpy files and round-trips its own', () => {
    const a = decodeNpy(readFileSync(join(fixtures, 'npy', 'stage-1.npy')), 'stage-1.npy');
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([20, 2, 2, 3]);
    const idx = decodeNpy(readFileSync(join(fixtures, 'npy', 'index-1.npy')), 'index-1.npy');
    expect(idx.dtype).toBe('int64');
    expect(a.data[5]).toBe(stageOf(idx.data[0]!, 5));
    const data = new Float32Array([1.5, -2, 3e-8, 4, 5, 6]);
    const back = decodeNpy(encodeNpy(data, [3, 2], 'float32'), 'x.npy');
    expect(back.shape).toEqual([3, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    // Data at an odd byte offset (a slice of a larger buffer) is copied, not misread.
    const bytes = encodeNpy(data, [3, 2], 'float32');
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(Array.from(decodeNpy(shifted.subarray(1), 'odd.npy').data)).toEqual(Array.from(data));
    const ints = decodeNpy(encodeNpy([0, 7, 2 ** 31 - 1], [3], 'int64'), 'i.npy');
    expect(Array.from(ints.data)).toEqual([0, 7, 2 ** 31 - 1]);
  });

  it('refuses files that are not .npy, other dtypes and Fortran order', () => {
    const f4 = encodeNpy(new Float32Array(4), [4], 'float32');
    const end = 10 + new DataView(f4.buffer).getUint16(8, true);
    const header = new TextDecoder('latin1').decode(f4.subarray(10, end));
    // The same header with descr '<f8' (same length) and 8 bytes per value.
    const bytes = new Uint8Array(end + 32);
    bytes.set(f4.subarray(0, 10));
    bytes.set(new TextEncoder().encode(header.replace('<f4', '<f8')), 10);
    expect(() => decodeNpy(bytes, 'f64.npy')).toThrow(/f64\.npy: dtype '<f8'/);
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]), 'junk.npy')).toThrow(/junk\.npy/);
    const fortran = header.replace("'fortran_order': False", "'fortran_order': True ");
    bytes.set(new TextEncoder().encode(fortran), 10);
    expect(() => decodeNpy(bytes, 'f.npy')).toThrow(/Fortran/);
  });
});

describe('bad input: a typed error naming the file, before any row is used', () => {
  const npy = filesOf('npy');

  it('a missing shard (IO_ERROR, the path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relkd-to-'));
    try {
      cpSync(join(fixtures, 'npy'), dir, { recursive: true });
      unlinkSync(join(dir, 'logits-1.npy'));
      const outputs = await TeacherOutputs.open(fromDirectory(dir));
      await expectRejects(() => outputs.check({ rows: N }), 'IO_ERROR', join(dir, 'logits-1.npy'));
      const { ['stage-0.npy']: _, ...rest } = npy;
      await expectRejects(
        async () => (await TeacherOutputs.open(fromBuffers(rest))).gather([0]),
        'IO_ERROR',
        'stage-0.npy',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing or invalid manifest (IO_ERROR, teacher.json)', async () => {
    await expectRejects(() => TeacherOutputs.open(fromBuffers({})), 'IO_ERROR', 'teacher.json');
    await expectRejects(
      () => TeacherOutputs.open(fromBuffers({ 'teacher.json': new TextEncoder().encode('{') })),
      'IO_ERROR',
      'teacher.json',
    );
    await expectRejects(
      () =>
        TeacherOutputs.open(
          fromBuffers(
            withManifest(npy, (m) => {
              m.version = 2 as 1;
            }),
          ),
        ),
      'IO_ERROR',
      'teacher.json',
    );
    await expectRejects(
      () =>
        TeacherOutputs.open(
          fromBuffers(
            withManifest(npy, (m) => {
              m.rows = 51;
            }),
          ),
        ),
      'IO_ERROR',
      'teacher.json',
    );
  });

  it('a wrong shape (SHAPE_MISMATCH): an output file of another shape, a shard of another length', async () => {
    const flat = decodeNpy(npy['stage-0.npy']!, 'stage-0.npy');
    const reshaped = { ...npy, 'stage-0.npy': encodeNpy(flat.data, [30, 12], 'float32') };
    await expectRejects(
      async () => (await TeacherOutputs.open(fromBuffers(reshaped))).check(),
      'SHAPE_MISMATCH',
      'stage-0.npy',
    );
    const idx = decodeNpy(npy['index-0.npy']!, 'index-0.npy');
    const shorter = { ...npy, 'index-0.npy': encodeNpy(idx.data.subarray(0, 29), [29], 'int64') };
    await expectRejects(
      async () => (await TeacherOutputs.open(fromBuffers(shorter))).check(),
      'SHAPE_MISMATCH',
      'index-0.npy',
    );
  });

  it('a wrong dtype (DTYPE_MISMATCH): int32 logits in .npy, DOUBLE logits in Parquet', async () => {
    const logits = decodeNpy(npy['logits-1.npy']!, 'logits-1.npy');
    const ints = {
      ...npy,
      'logits-1.npy': encodeNpy(Int32Array.from(logits.data), [20, C], 'int32'),
    };
    await expectRejects(
      async () => (await TeacherOutputs.open(fromBuffers(ints))).check(),
      'DTYPE_MISMATCH',
      'logits-1.npy',
    );
    const parquet = filesOf('parquet');
    const bad = {
      ...withManifest(parquet, (m) => {
        m.shards = [{ rows: N, file: 'double.parquet' }];
      }),
      'double.parquet': new Uint8Array(
        readFileSync(join(fixtures, 'parquet', 'bad', 'double.parquet')),
      ),
    };
    await expectRejects(
      async () => (await TeacherOutputs.open(fromBuffers(bad))).check(),
      'DTYPE_MISMATCH',
      'double.parquet',
    );
  });

  it('a row count that does not match the training data (SHAPE_MISMATCH, teacher.json)', async () => {
    const outputs = await TeacherOutputs.open(fromBuffers(npy));
    await expectRejects(() => outputs.check({ rows: 60 }), 'SHAPE_MISMATCH', 'teacher.json');
    await expectRejects(() => outputs.check({ numClasses: 9 }), 'SHAPE_MISMATCH', 'teacher.json');
  });

  it('another data set (DATASET_MISMATCH): other labels or row order, another name, rows out of range or repeated', async () => {
    const outputs = await TeacherOutputs.open(fromBuffers(npy));
    const shuffled = labels.map((_, i) => labels[(i + 1) % N]!);
    await expectRejects(
      () => outputs.check({ rows: N, labels: shuffled }),
      'DATASET_MISMATCH',
      'teacher.json',
    );
    await expectRejects(
      () => outputs.check({ datasetName: 'mnist-train' }),
      'DATASET_MISMATCH',
      'teacher.json',
    );
    const idx = decodeNpy(npy['index-1.npy']!, 'index-1.npy');
    const repeated = Int32Array.from(idx.data);
    const first = decodeNpy(npy['index-0.npy']!, 'index-0.npy').data[0]!;
    repeated[4] = first;
    await expectRejects(
      async () =>
        (
          await TeacherOutputs.open(
            fromBuffers({ ...npy, 'index-1.npy': encodeNpy(repeated, [20], 'int64') }),
          )
        ).check(),
      'DATASET_MISMATCH',
      'index-1.npy',
    );
    repeated[4] = N;
    await expectRejects(
      async () =>
        (
          await TeacherOutputs.open(
            fromBuffers({ ...npy, 'index-1.npy': encodeNpy(repeated, [20], 'int64') }),
          )
        ).check(),
      'DATASET_MISMATCH',
      'index-1.npy',
    );
  });

  it('NaN rows (NON_FINITE, the file and the data set row)', async () => {
    const logits = decodeNpy(npy['logits-1.npy']!, 'logits-1.npy');
    const idx = decodeNpy(npy['index-1.npy']!, 'index-1.npy');
    const values = Float32Array.from(logits.data);
    values[7 * C + 4] = Number.NaN;
    const files = { ...npy, 'logits-1.npy': encodeNpy(values, [20, C], 'float32') };
    const e = await expectRejects(
      async () => (await TeacherOutputs.open(fromBuffers(files))).check(),
      'NON_FINITE',
      'logits-1.npy',
    );
    expect(e.message).toContain(`data set row ${idx.data[7]}`);
  });
});

describe('writers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relkd-tw-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('TeacherOutputsWriter writes shards a reader reads back, the manifest last', async () => {
    const out = join(dir, 'w');
    const writer = await TeacherOutputsWriter.create(out, {
      dataset: { name: 'toy-50', labelsHash: labelsHash(labels) },
      outputs: { logits: { shape: [C] } },
      shardRows: 16,
    });
    for (let start = 0; start < N; start += 10) {
      const rows = Array.from({ length: 10 }, (_, i) => N - 1 - (start + i));
      const values = new Float32Array(
        rows.flatMap((r) => Array.from({ length: C }, (_, c) => logitOf(r, c))),
      );
      await writer.append(rows, { logits: values });
    }
    expect(readdirSync(out)).not.toContain('teacher.json');
    const manifest = await writer.close();
    expect(manifest.shards.map((s) => s.rows)).toEqual([16, 16, 16, 2]);
    const outputs = await TeacherOutputs.open(fromDirectory(out));
    await outputs.check({ rows: N, labels, numClasses: C });
    const { logits } = await outputs.gather([0, 49, 20]);
    expect(Array.from(await logits.data()).filter((_, j) => j % C === 1)).toEqual(
      [0, 49, 20].map((r) => logitOf(r, 1)),
    );
    logits.dispose();
  });

  it('exportTeacherOutputs runs a tfjs teacher over every row (logits and features)', async () => {
    const x = tf.tensor2d(
      Array.from({ length: 21 * 3 }, (_, i) => (i % 7) - 3),
      [21, 3],
    );
    const w = tf.tensor2d([1, 0, -1, 2, 0.5, 0, 0, 1, 1], [3, 3]);
    const teacher = (b: tf.Tensor) => ({
      logits: tf.matMul(b as tf.Tensor2D, w),
      features: { hidden: tf.relu(b) },
    });
    const before = tf.memory().numTensors;
    const manifest = await exportTeacherOutputs(join(dir, 'e'), teacher, x, {
      datasetName: 'toy-21',
      labels: Array.from({ length: 21 }, (_, i) => i % 3),
      batchSize: 4,
      shardRows: 8,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(manifest.outputs).toEqual({
      logits: { shape: [3], dtype: 'float32' },
      hidden: { shape: [3], dtype: 'float32' },
    });
    const outputs = await TeacherOutputs.open(fromDirectory(join(dir, 'e')));
    await outputs.check({
      rows: 21,
      datasetName: 'toy-21',
      labels: Array.from({ length: 21 }, (_, i) => i % 3),
    });
    const rows = [20, 3, 11];
    const got = await outputs.gather(rows);
    const want = teacher(tf.gather(x, rows));
    expect(Array.from(await got.logits.data())).toEqual(Array.from(await want.logits.data()));
    expect(Array.from(await got.features.hidden!.data())).toEqual(
      Array.from(await want.features.hidden.data()),
    );
    tf.dispose([got.logits, got.features.hidden!, want.logits, want.features.hidden, x, w]);
  });
});
