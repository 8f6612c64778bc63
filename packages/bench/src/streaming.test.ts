// The offline-teacher section of the bench report: its structure, the bounded verdict computed
// from the rows, and one small real measurement's structure (no memory or time is asserted: the
// numbers are the report's; only the reader's exact bound and the shard-read count are).
import { useTestBackend } from '@relkd/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderMarkdown, streamingBound, streamingMarkdown } from './report';
import { type StreamingRow, streamingMemory, streamingPlan } from './streaming';

const KiB = 1024;

function row(shards: number, live: number, readerPeak = 3 * 100 * KiB): StreamingRow {
  return {
    shards,
    rows: shards * 100,
    diskBytes: shards * 100 * KiB + 500,
    decodedBytes: shards * 100 * KiB,
    shardBytes: 100 * KiB,
    cacheBytes: 200 * KiB,
    batches: Math.ceil((shards * 100) / 64),
    shardReads: 2 * shards,
    readerPeakBytes: readerPeak,
    livePeakBytes: live,
    sampledPeakBytes: 2 * live,
    seconds: 0.5,
  };
}

describe('bench: offline-teacher streaming section', () => {
  it('one table row per shard count, and the verdict from the rows', () => {
    const flat = [row(8, 900 * KiB), row(16, 950 * KiB), row(32, 940 * KiB)];
    const md = streamingMarkdown(flat);
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/^\| shards \| rows \| on disk \| decoded \| cacheBytes \|/);
    expect(lines.filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.split(' | ')[0])).toEqual([
      '| 8',
      '| 16',
      '| 32',
    ]);
    expect(md).toContain('Bounded: 8 → 32 shards');
    const b = streamingBound(flat)!;
    expect(b.met).toBe(true);
    expect(b.growth).toBeCloseTo((40 * KiB) / (2400 * KiB), 10);
    // Live memory growing with the data set, or a reader above cache + one shard: not bounded.
    const growing = [row(8, 900 * KiB), row(32, 900 * KiB + 1200 * KiB)];
    expect(streamingBound(growing)!.met).toBe(false);
    expect(streamingMarkdown(growing)).toContain('**Not bounded**');
    expect(streamingBound([row(8, 0), row(16, 0, 301 * KiB)])!.met).toBe(false);
    expect(streamingBound([row(8, 0)])).toBeUndefined();
    expect(streamingMarkdown([])).toBe('not measured in this run');
  });

  it('the report has the section and a targets line', () => {
    const md = renderMarkdown({
      meta: {
        date: 'd',
        machine: 'cpu x2, 8 GiB',
        loadStart: [1, 1, 1],
        loadEnd: [1, 1, 1],
        minutes: 1,
        node: 'v20',
        tfjs: '4.22.0',
        backends: ['cpu'],
        backendInfo: {},
        describe: {},
        quick: true,
      },
      rows: [],
      sweeps: [],
      kernelConstancy: [],
      overhead: [],
      streaming: [row(8, 900 * KiB), row(16, 950 * KiB)],
      torch: null,
      failures: [],
      charts: [],
      findings: '',
    });
    expect(md).toContain('## Offline teacher outputs: memory while streaming (issue #20)');
    expect(md).toMatch(
      /\| Offline teacher outputs stream with bounded memory .* \| \*\*met\*\* \|/,
    );
  });

  it('the quick plan streams data sets several times the cache', () => {
    const { shardCounts } = streamingPlan(true);
    expect(Math.min(...shardCounts)).toBeGreaterThanOrEqual(4 * 2); // >= 4x a 2-shard cache
    expect(shardCounts.length).toBeGreaterThanOrEqual(3);
  });

  describe('a small real measurement', () => {
    beforeAll(() => useTestBackend('cpu'));

    it('streams every shard in check() and at most once more in the epoch, within cache + one shard', async () => {
      const lines: string[] = [];
      const rows = await streamingMemory(true, (l) => lines.push(l), {
        shardCounts: [3, 6],
        shardRows: 150,
      });
      expect(rows.map((r) => r.shards)).toEqual([3, 6]);
      for (const r of rows) {
        expect(r.rows).toBe(150 * r.shards);
        expect(r.batches).toBe(Math.ceil(r.rows / 64));
        // The cache (2 shards) still holds the last shards of check() when the epoch starts.
        expect(r.shardReads).toBeGreaterThan(r.shards);
        expect(r.shardReads).toBeLessThanOrEqual(2 * r.shards);
        expect(r.readerPeakBytes).toBeLessThanOrEqual(r.cacheBytes + r.shardBytes);
        expect(r.decodedBytes).toBe(r.rows * ((10 + 128) * 4 + 4));
        expect(r.diskBytes).toBeGreaterThan(r.decodedBytes);
        for (const v of [r.livePeakBytes, r.sampledPeakBytes, r.seconds])
          expect(Number.isFinite(v) && v >= 0).toBe(true);
      }
      expect(lines).toHaveLength(2);
    });
  });
});
