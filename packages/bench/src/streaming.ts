/**
 * The bench's offline-teacher section (issue 20): memory while streaming teacher outputs from
 * `.npy` shards, for data sets several times larger than the reader's cache, at growing numbers
 * of shards. Each point writes a synthetic teacher-outputs directory (`[10]` logits and a
 * `[4, 4, 8]` stage feature per row, shards of `shardRows` rows), opens it with a cache of
 * `CACHE_SHARDS` shards, runs `check()` (one pass over every shard) and an epoch of `gather`
 * calls of 64 rows in the shard-window order `sampler({ window: 1 })`, as `Distiller.fit` does.
 *
 * Measured (no assertion: numbers only): the reader's own peak of decoded shard bytes (exact,
 * `stats.peakBytes`), and the process's resident heap + external memory (`process.memoryUsage()`:
 * `heapUsed + external`, where `external` includes every ArrayBuffer) above the baseline before
 * the point: the largest value after a forced GC (sampled every `GC_EVERY` batches: what stays
 * alive) and the largest value sampled after every batch without forcing GC (what the process
 * holds, garbage included). Bounded means these stay flat while the shard count grows.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fromDirectory, TeacherOutputs, TeacherOutputsWriter } from '@relkd/teacher-outputs/node';
import * as tf from '@tensorflow/tfjs-core';

/** One point of the streaming measurement (a data set of `shards` shards). */
export interface StreamingRow {
  /** Shards in the data set (all streamed by `check()` and by the epoch). */
  shards: number;
  rows: number;
  /** Bytes of the directory's files (`.npy` shards and `teacher.json`). */
  diskBytes: number;
  /** Decoded bytes of the whole data set (index + outputs). */
  decodedBytes: number;
  /** Decoded bytes of one shard (index + outputs). */
  shardBytes: number;
  /** The reader's `cacheBytes`. */
  cacheBytes: number;
  /** Batches of 64 rows gathered (one epoch). */
  batches: number;
  /** Shards read and decoded (the `check()` pass included). */
  shardReads: number;
  /** The reader's own peak of decoded shard bytes (exact). */
  readerPeakBytes: number;
  /** Largest `heapUsed + external` above the baseline after a forced GC. */
  livePeakBytes: number;
  /** Largest `heapUsed + external` above the baseline sampled after each batch, no forced GC. */
  sampledPeakBytes: number;
  /** Wall-clock seconds of `check()` plus the epoch (writing excluded). */
  seconds: number;
}

/** The reader's cache in shards (the data set is `shards / CACHE_SHARDS` times larger). */
export const CACHE_SHARDS = 2;
/** A forced GC (and a live sample) every this many batches. */
const GC_EVERY = 8;
const BATCH = 64;
/** Decoded bytes of one row: `[10]` logits + `[4, 4, 8]` stage (float32) + the int32 index. */
const ROW_BYTES = (10 + 128) * 4 + 4;

/** The shard counts and shard size of a run (`--quick`: small, for CI). */
export function streamingPlan(quick: boolean): { shardCounts: number[]; shardRows: number } {
  return quick
    ? { shardCounts: [8, 16, 32], shardRows: 500 }
    : { shardCounts: [8, 16, 32, 64], shardRows: 4000 };
}

/** V8's `gc()`, exposed at run time (the bench runs without `node --expose-gc`). */
function exposeGc(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (global !== undefined) return global;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * A full GC, then a turn of the event loop, twice: V8 releases ArrayBuffer backing stores (and
 * updates `external`) after the collection, so one `gc()` alone can leave freed buffers counted.
 */
async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

const resident = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

async function writeSynthetic(dir: string, rows: number, shardRows: number): Promise<void> {
  const w = await TeacherOutputsWriter.create(dir, {
    dataset: { name: 'synthetic' },
    outputs: { logits: { shape: [10] }, stage: { shape: [4, 4, 8] } },
    shardRows,
  });
  for (let start = 0; start < rows; start += shardRows) {
    const n = Math.min(shardRows, rows - start);
    const index = Array.from({ length: n }, (_, i) => start + i);
    const logits = new Float32Array(n * 10).map((_, j) => Math.sin(start * 10 + j));
    const stage = new Float32Array(n * 128).map((_, j) => Math.cos(start * 128 + j));
    await w.append(index, { logits, stage });
  }
  await w.close();
}

function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

/** Measures one point: a data set of `shards` shards of `shardRows` rows. */
async function measurePoint(
  shards: number,
  shardRows: number,
  gc: () => void,
): Promise<StreamingRow> {
  const rows = shards * shardRows;
  const dir = mkdtempSync(join(tmpdir(), 'relkd-bench-stream-'));
  try {
    await writeSynthetic(dir, rows, shardRows);
    const shardBytes = shardRows * ROW_BYTES;
    const cacheBytes = CACHE_SHARDS * shardBytes;
    await settle(gc);
    const base = resident();
    let live = 0;
    let sampled = 0;
    const t0 = performance.now();
    const outputs = await TeacherOutputs.open(fromDirectory(dir), { cacheBytes });
    await outputs.check({ rows });
    sampled = Math.max(sampled, resident() - base);
    await settle(gc);
    live = Math.max(live, resident() - base);
    const order = outputs.sampler({ window: 1 })({
      labels: new Int32Array(rows),
      seed: 7,
      epoch: 0,
    });
    const batches = Math.ceil(rows / BATCH);
    for (let b = 0; b < batches; b++) {
      const { logits, features } = await outputs.gather(order.slice(BATCH * b, BATCH * (b + 1)));
      tf.dispose([logits, ...Object.values(features)]);
      sampled = Math.max(sampled, resident() - base);
      if (b % GC_EVERY === 0) {
        await settle(gc);
        live = Math.max(live, resident() - base);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const s = outputs.stats;
    outputs.dispose();
    return {
      shards,
      rows,
      diskBytes: directoryBytes(dir),
      decodedBytes: rows * ROW_BYTES,
      shardBytes,
      cacheBytes,
      batches,
      shardReads: s.shardReads,
      readerPeakBytes: s.peakBytes,
      livePeakBytes: Math.max(0, live),
      sampledPeakBytes: Math.max(0, sampled),
      seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the streaming measurement at each shard count of `plan` (default {@link streamingPlan};
 * on the current tfjs backend, the gathered batches are small tensors) and returns one row per
 * point.
 */
export async function streamingMemory(
  quick: boolean,
  log: (line: string) => void,
  plan: { shardCounts: number[]; shardRows: number } = streamingPlan(quick),
): Promise<StreamingRow[]> {
  const { shardCounts, shardRows } = plan;
  const gc = exposeGc();
  const out: StreamingRow[] = [];
  for (const shards of shardCounts) {
    const r = await measurePoint(shards, shardRows, gc);
    log(
      `  streaming ${r.shards} shards (${r.rows} rows, ${(r.diskBytes / 2 ** 20).toFixed(1)} MiB on disk): reader peak ${(r.readerPeakBytes / 2 ** 20).toFixed(2)} MiB, live peak ${(r.livePeakBytes / 2 ** 20).toFixed(2)} MiB, sampled peak ${(r.sampledPeakBytes / 2 ** 20).toFixed(2)} MiB, ${r.shardReads} shard reads, ${r.seconds.toFixed(1)} s`,
    );
    out.push(r);
  }
  return out;
}
