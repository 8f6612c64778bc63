import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accuracyChart, type ComparisonResults, comparisonChart } from './chart';

const bench = new URL('../../../docs/benchmarks/', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, bench), 'utf8');

describe('the MNIST accuracy chart', () => {
  it.each([
    'mnist',
    'mnist-full',
  ])('draws docs/benchmarks/%s-accuracy.svg again, byte for byte, from its JSON', (name) => {
    const results = JSON.parse(read(`${name}.json`)) as ComparisonResults;
    expect(comparisonChart(results)).toBe(read(`${name}-accuracy.svg`));
  });

  it('dashes the first (baseline) series, leaves out non-finite values, shows the last value', () => {
    const svg = accuracyChart(
      [
        { name: 'CE', values: [90, 92] },
        { name: 'A<B', values: [91, Number.NaN, 95] },
      ],
      'x & y',
    );
    const lines = svg.split('\n').filter((l) => l.startsWith('<polyline'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('stroke-dasharray="6 4"');
    expect(lines[0]).toContain('stroke="#444444"');
    expect(lines[1]).not.toContain('stroke-dasharray');
    expect(/points="([^"]*)"/.exec(lines[1]!)![1]!.split(' ')).toHaveLength(2);
    expect(svg).toContain('>A&lt;B 95.00</text>');
    expect(svg).toContain('>x &amp; y</text>');
  });
});
