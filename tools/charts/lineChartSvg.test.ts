import { describe, expect, it } from 'vitest';
import { type LineChartOptions, lineChartSvg, PALETTE } from './lineChartSvg';

const base: LineChartOptions = {
  width: 300,
  height: 200,
  margin: { left: 50, right: 100, top: 20, bottom: 40 },
  x: { label: 'x', domain: [0, 10], ticks: [0, 5, 10] },
  y: { label: 'y', domain: [0, 1], ticks: [0, 0.5, 1] },
  series: [],
};
/** The `points` attribute of each polyline, as numbers. */
const polylines = (svg: string) =>
  [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) =>
    m[1] === '' ? [] : m[1]!.split(' ').map((p) => p.split(',').map(Number)),
  );

describe('lineChartSvg', () => {
  it('maps linear domains onto the plot area (y up) and rounds to 0.1 px', () => {
    const svg = lineChartSvg({
      ...base,
      series: [
        {
          name: 'a',
          points: [
            [0, 0],
            [5, 0.5],
            [10, 1],
            [2.5, 1 / 3],
          ],
        },
      ],
    });
    // plot: x 50..200, y 20..160
    expect(polylines(svg)).toEqual([
      [
        [50, 160],
        [125, 90],
        [200, 20],
        [87.5, 113.3],
      ],
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"')).toBe(
      true,
    );
    expect(svg.endsWith('</svg>\n')).toBe(true);
  });

  it('log axes place decades evenly; non-positive and non-finite points are left out', () => {
    const svg = lineChartSvg({
      ...base,
      x: { label: 'B', scale: 'log', domain: [1, 100], ticks: [1, 10, 100] },
      y: { label: 'ms', scale: 'log', domain: [1, 1000], ticks: [1, 10, 100, 1000] },
      series: [
        {
          name: 'a',
          points: [
            [1, 1],
            [10, 10],
            [100, 1000],
            [10, 0],
            [Number.NaN, 5],
          ],
        },
      ],
      markers: true,
    });
    expect(polylines(svg)).toEqual([
      [
        [50, 160],
        [125, 113.3],
        [200, 20],
      ],
    ]);
    expect(svg.match(/<circle /g)).toHaveLength(3);
  });

  it('a one-point domain draws in the middle', () => {
    const svg = lineChartSvg({
      ...base,
      x: { label: 'epoch', domain: [1, 1], ticks: [1] },
      series: [{ name: 'a', points: [[1, 0.5]] }],
    });
    expect(polylines(svg)).toEqual([[[125, 90]]]);
  });

  it('grid lines and labels at the y ticks, labels at the x ticks, formatted and escaped', () => {
    const svg = lineChartSvg({
      ...base,
      title: 'A & B',
      y: { ...base.y, format: (v) => `<${v.toFixed(1)}>` },
    });
    expect(svg.match(/stroke="#e5e5e5"/g)).toHaveLength(3);
    expect(svg).toContain('text-anchor="end">&lt;0.5&gt;</text>');
    expect([...svg.matchAll(/text-anchor="middle">(\d+)</g)].map((m) => m[1])).toEqual([
      '0',
      '5',
      '10',
    ]);
    expect(svg).toContain('font-weight="bold">A &amp; B</text>');
    expect(lineChartSvg(base)).not.toContain('font-weight');
  });

  it('colours series from the palette unless given, dashes on request, one legend entry each', () => {
    const svg = lineChartSvg({
      ...base,
      series: [
        { name: 'base', points: [[0, 0]], color: '#444444', dashed: true },
        { name: 'one', points: [[0, 0]] },
        { name: 'two', points: [[0, 0]] },
      ],
    });
    const strokes = [...svg.matchAll(/<polyline [^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    expect(strokes).toEqual(['#444444', PALETTE[1], PALETTE[2]]);
    expect(svg.match(/stroke-dasharray="6 4"/g)).toHaveLength(2); // the line and its legend swatch
    expect([...svg.matchAll(/<text x="246" y="(\d+)">(\w+)</g)].map((m) => [m[1], m[2]])).toEqual([
      ['34', 'base'],
      ['54', 'one'],
      ['74', 'two'],
    ]);
  });
});
