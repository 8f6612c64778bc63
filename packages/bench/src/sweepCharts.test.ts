import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type SweepPoint, sweepCharts } from './report';

const bench = new URL('../../../docs/benchmarks/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, bench), 'utf8');

describe('the sweep charts', () => {
  it('docs/benchmarks/performance-sweep-*.svg are drawn from performance.json, byte for byte', () => {
    const { sweeps } = JSON.parse(read('performance.json')) as { sweeps: SweepPoint[] };
    const charts = sweepCharts(sweeps);
    expect(charts.map(([file]) => file)).toEqual([
      'performance-sweep-B-time.svg',
      'performance-sweep-B-memory.svg',
      'performance-sweep-C-time.svg',
      'performance-sweep-C-memory.svg',
    ]);
    for (const [file, svg] of charts) expect(svg, file).toBe(read(file));
  });

  it('draws the wasm sweeps when there are some, one dotted line per loss, decade ticks', () => {
    const point = (backend: string, loss: string, value: number, ms: number): SweepPoint => ({
      backend,
      loss,
      axis: 'B',
      value,
      B: value,
      C: 100,
      ms,
      p10Ms: ms,
      p90Ms: ms,
      peakBytes: 1000 * value,
      kernels: 10,
      leakedTensors: 0,
    });
    const sweeps = [
      point('cpu', 'kd', 32, 5),
      point('wasm', 'kd', 64, 2),
      point('wasm', 'kd', 32, 0.5),
      point('wasm', 'vrm', 32, 30),
    ];
    const [, svg] = sweepCharts(sweeps)[0]!;
    expect(svg).toContain('>fwd+bwd time vs B (wasm)</text>');
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    // 0.5 .. 30 ms: decades 1e-1 .. 1e2.
    expect([...svg.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1])).toEqual([
      '1e-1',
      '1e0',
      '1e1',
      '1e2',
    ]);
    const [, memory] = sweepCharts(sweeps)[1]!;
    expect(memory).toContain('>10 kB</text>');
    // No sweep at C: empty charts, no error.
    expect(sweepCharts(sweeps)[2]![1]).not.toContain('<circle');
  });
});
