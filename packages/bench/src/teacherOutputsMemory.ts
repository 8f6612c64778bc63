/**
 * Memory of an offline teacher while streaming (issue 20): writes a synthetic teacher-outputs
 * directory (`rows` rows of `[10]` logits and a `[4, 4, 8]` stage feature, `.npy` shards of
 * `shardRows` rows), then trains-like reads it: one `check()` pass and one shuffled epoch of
 * `gather` calls of 64 rows (the first `batches`), for several `cacheBytes` budgets. Reports, per budget, the reader's
 * own peak of decoded shard bytes (exact: `stats.peakBytes`), the peak of live ArrayBuffer bytes
 * of the process after each batch (after a forced GC: `node --expose-gc`), shard reads and time.
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
/** Batches of 64 shuffled rows read per budget (a small cache re-reads shards on every batch). */
const batches = Number(process.argv[4] ?? 200);
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
      `${rows} rows, ${Math.ceil(rows / shardRows)} .npy shards of ${shardRows} rows: ${(total / MB).toFixed(1)} MiB decoded in all, ${(shard / MB).toFixed(2)} MiB per shard; check() then ${batches} shuffled batches of 64`,
    );
    console.log(
      '| cacheBytes | reader peak (decoded shards) | live ArrayBuffers, peak above baseline | shard reads | time (check + batches) |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    for (const budget of [0, 2 * shard, 8 * shard, 2 * total]) {
      const base = liveBuffers();
      let peak = 0;
      const t0 = Date.now();
      const outputs = await TeacherOutputs.open(fromDirectory(dir), { cacheBytes: budget });
      await outputs.check({ rows });
      peak = Math.max(peak, liveBuffers() - base);
      const order = new Rng(7).permutation(rows);
      for (let i = 0; i < Math.min(order.length, 64 * batches); i += 64) {
        const { logits, features } = await outputs.gather(order.slice(i, i + 64));
        tf.dispose([logits, ...Object.values(features)]);
        if ((i / 64) % 20 === 0) peak = Math.max(peak, liveBuffers() - base);
      }
      const s = outputs.stats;
      outputs.dispose();
      console.log(
        `| ${budget === 0 ? '0' : `${(budget / MB).toFixed(1)} MiB`} | ${(s.peakBytes / MB).toFixed(1)} MiB | ${(peak / MB).toFixed(1)} MiB | ${s.shardReads} | ${((Date.now() - t0) / 1000).toFixed(1)} s |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
