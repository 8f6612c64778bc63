/**
 * Memory of an offline teacher while streaming (issue 20): writes a synthetic teacher-outputs
 * directory (`rows` rows of `[10]` logits and a `[4, 4, 8]` stage feature, `.npy` shards of
 * `shardRows` rows), then reads it as training does: one `check()` pass and an epoch of
 * `gather` calls of 64 rows:
 * (a) fully shuffled with a cache that holds every shard, (b) fully shuffled with a cache of 4
 * shards (the first `batches` batches only: each re-reads shards), (c) in the shard-window order
 * of `sampler({ window: 2 })` with the same 4-shard cache. Reports, per case, the reader's
 * own peak of decoded shard bytes (exact: `stats.peakBytes`), the largest of the process's
 * ArrayBuffer bytes sampled every 20 batches after a forced GC (`node --expose-gc`; V8 frees
 * backing stores lazily, so this is indicative), shard reads and time.
 *
 *   node --expose-gc --import tsx packages/bench/src/teacherOutputsMemory.ts [rows] [shardRows] [batches]
 *
 * Numbers only (no assertion): the bounded-memory property itself is tested in
 * packages/teacher-outputs (peak <= cacheBytes + one shard).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@relkd/core';
import { fromDirectory, TeacherOutputs, TeacherOutputsWriter } from '@relkd/teacher-outputs/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

const MB = 1024 * 1024;
const rows = Number(process.argv[2] ?? 100_000);
const shardRows = Number(process.argv[3] ?? 10_000);
/** Batches of 64 read in the shuffled, small-cache case (it re-reads shards on every batch). */
const batches = Number(process.argv[4] ?? 100);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) console.warn('run with node --expose-gc for the live-memory column');

const liveBuffers = () => {
  gc?.();
  return process.memoryUsage().arrayBuffers;
};

async function write(dir: string): Promise<void> {
  const w = await TeacherOutputsWriter.create(dir, {
    dataset: { name: 'synthetic' },
    outputs: { logits: { shape: [10] }, stage: { shape: [4, 4, 8] } },
    shardRows,
  });
  const chunk = 2000;
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const index = Array.from({ length: n }, (_, i) => start + i);
    const logits = new Float32Array(n * 10).map((_, j) => Math.sin(start + j));
    const stage = new Float32Array(n * 128).map((_, j) => Math.cos(start + j));
    await w.append(index, { logits, stage });
  }
  await w.close();
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'relkd-offline-mem-'));
  try {
    await write(dir);
    const bytesPerRow = (10 + 128) * 4 + 4;
    const total = rows * bytesPerRow;
    const shard = shardRows * bytesPerRow;
    console.log(
      `${rows} rows, ${Math.ceil(rows / shardRows)} .npy shards of ${shardRows} rows: ${(total / MB).toFixed(1)} MiB decoded in all, ${(shard / MB).toFixed(2)} MiB per shard`,
    );
    console.log(
      '| order | cacheBytes | batches | reader peak (decoded shards) | process ArrayBuffers after GC (largest sample) | shard reads | time |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    const cases: Array<[string, number, number | undefined]> = [
      ['shuffled', 2 * total, undefined],
      ['shuffled', 4 * shard, batches],
      ['sampler({ window: 2 })', 4 * shard, undefined],
    ];
    for (const [kind, budget, limit] of cases) {
      liveBuffers();
      let peak = 0;
      const t0 = Date.now();
      const outputs = await TeacherOutputs.open(fromDirectory(dir), { cacheBytes: budget });
      await outputs.check({ rows });
      peak = Math.max(peak, liveBuffers());
      const order =
        kind === 'shuffled'
          ? new Rng(7).permutation(rows)
          : outputs.sampler({ window: 2 })({ labels: new Int32Array(rows), seed: 7, epoch: 0 });
      const count = Math.min(Math.ceil(rows / 64), limit ?? Number.POSITIVE_INFINITY);
      for (let b = 0; b < count; b++) {
        const { logits, features } = await outputs.gather(order.slice(64 * b, 64 * b + 64));
        tf.dispose([logits, ...Object.values(features)]);
        if (b % 20 === 0) peak = Math.max(peak, liveBuffers());
      }
      const s = outputs.stats;
      outputs.dispose();
      console.log(
        `| ${kind} | ${(budget / MB).toFixed(1)} MiB | ${count}${limit === undefined ? ' (an epoch)' : ''} | ${(s.peakBytes / MB).toFixed(1)} MiB | ${(peak / MB).toFixed(1)} MiB | ${s.shardReads} | ${((Date.now() - t0) / 1000).toFixed(1)} s |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
