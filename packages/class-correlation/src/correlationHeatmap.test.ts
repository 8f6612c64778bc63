import { BACKENDS, expectNoLeak, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { correlationHeatmap, correlationHeatmapSvg } from './index';
import { colorAt, PALETTES } from './internal/colormap';

describe.each(BACKENDS)('correlationHeatmap on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('returns int32 RGBA [R·s, C·s, 4] in 0..255 with opaque alpha', () => {
    const m = tf.tensor2d([
      [1, 0.2, 0],
      [0.2, 0.5, 0.1],
    ]);
    const img = correlationHeatmap(m, { cellSize: 3 });
    expect(img.shape).toEqual([6, 9, 4]);
    expect(img.dtype).toBe('int32');
    const px = img.arraySync() as number[][][];
    for (const row of px) {
      for (const p of row) {
        for (const v of p) {
          expect(Number.isInteger(v) && v >= 0 && v <= 255).toBe(true);
        }
        expect(p[3]).toBe(255);
      }
    }
    // min -> first palette colour, max -> last; cells are uniform blocks
    expect(px[0]![0]!.slice(0, 3)).toEqual([...PALETTES.viridis[8]!]);
    expect(px[0]![8]!.slice(0, 3)).toEqual([...PALETTES.viridis[0]!]);
    expect(px[5]![2]!).toEqual(px[3]![0]!);
    tf.dispose([m, img]);
  });

  it('agrees with the pure-JS colour map used by the SVG', () => {
    const values = [
      [0, 0.1, 0.37],
      [0.5, 0.77, 1],
    ];
    const img = correlationHeatmap(values, { cellSize: 1, colormap: 'magma', min: 0, max: 1 });
    const px = img.arraySync() as number[][][];
    values.forEach((row, i) => {
      row.forEach((v, j) => {
        const js = colorAt('magma', v);
        px[i]![j]!.slice(0, 3).forEach((ch, k) => {
          expect(Math.abs(ch - js[k]!)).toBeLessThanOrEqual(1);
        });
      });
    });
    img.dispose();
  });

  it('hideDiagonal paints the diagonal and rescales to the off-diagonal range', () => {
    const m = [
      [10, 0.1, 0.3],
      [0.1, 10, 0.2],
      [0.3, 0.2, 10],
    ];
    const img = correlationHeatmap(m, {
      cellSize: 1,
      hideDiagonal: true,
      diagonalColor: [1, 2, 3],
      colormap: 'gray',
    });
    const px = img.arraySync() as number[][][];
    expect(px[1]![1]).toEqual([1, 2, 3, 255]);
    expect(px[0]![2]!.slice(0, 3)).toEqual([255, 255, 255]); // off-diagonal max
    expect(px[0]![1]!.slice(0, 3)).toEqual([0, 0, 0]); // off-diagonal min
    img.dispose();
  });

  it('a constant matrix maps to the middle colour; values outside [min, max] are clamped', () => {
    const flat = correlationHeatmap(
      [
        [2, 2],
        [2, 2],
      ],
      { cellSize: 1, colormap: 'gray' },
    );
    expect((flat.arraySync() as number[][][])[0]![0]).toEqual([128, 128, 128, 255]);
    const clamped = correlationHeatmap([[-5, 5]], {
      cellSize: 1,
      colormap: 'gray',
      min: 0,
      max: 1,
    });
    expect(clamped.arraySync()).toEqual([
      [
        [0, 0, 0, 255],
        [255, 255, 255, 255],
      ],
    ]);
    tf.dispose([flat, clamped]);
  });

  it('leaks no tensor and rejects bad input', () => {
    const m = tf.randomUniform([4, 4]);
    expectNoLeak(() => correlationHeatmap(m, { hideDiagonal: true }));
    expectRelkdError(() => correlationHeatmap([1, 2, 3] as never), 'RANK_MISMATCH');
    expectRelkdError(() => correlationHeatmap(m, { cellSize: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => correlationHeatmap(m, { cellSize: 1.5 }), 'INVALID_OPTION');
    expectRelkdError(() => correlationHeatmap(m, { colormap: 'jet' as never }), 'INVALID_OPTION');
    expectRelkdError(() => correlationHeatmap(m, { min: 1, max: 0 }), 'INVALID_OPTION');
    expectRelkdError(
      () => correlationHeatmap(m, { diagonalColor: [1, 2] as never }),
      'INVALID_OPTION',
    );
    m.dispose();
  });
});

describe('correlationHeatmapSvg', () => {
  beforeAll(async () => {
    await useTestBackend('cpu');
  });

  it('renders a standalone SVG with one rect per cell, tooltips, labels and a legend', () => {
    const svg = correlationHeatmapSvg(
      [
        [0.5, 0.25],
        [0.25, 0.75],
      ],
      { labels: ['cat', 'd<g'], title: 'A & B', showValues: true },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<title>/g)).toHaveLength(4);
    expect(svg).toContain('<title>cat / d&lt;g: 0.25</title>');
    expect(svg).toContain('A &amp; B');
    expect(svg).not.toContain('d<g');
    expect(svg).toContain(`fill="rgb(${colorAt('viridis', 1).join(',')})"`);
  });

  it('reads tensors without disposing them and matches the tensor renderer', () => {
    const m = tf.tensor2d([
      [1, 0],
      [0.5, 1],
    ]);
    const svg = correlationHeatmapSvg(m, { hideDiagonal: true, legend: false });
    expect(m.isDisposed).toBe(false);
    expect(svg).toContain('fill="rgb(255,255,255)"');
    expect(svg).toContain(`fill="rgb(${colorAt('viridis', 1).join(',')})"`);
    expect(svg).toContain(`fill="rgb(${colorAt('viridis', 0).join(',')})"`);
    m.dispose();
  });

  it('rejects bad input', () => {
    expectRelkdError(() => correlationHeatmapSvg([]), 'EMPTY_BATCH');
    expectRelkdError(() => correlationHeatmapSvg([[1, 2], [3]]), 'SHAPE_MISMATCH');
    expectRelkdError(() => correlationHeatmapSvg('x' as never), 'INVALID_OPTION');
    expectRelkdError(() => correlationHeatmapSvg([[1]], { labels: [] }), 'INVALID_OPTION');
    expectRelkdError(() => correlationHeatmapSvg([[1]], { digits: 0 }), 'INVALID_OPTION');
    const t = tf.zeros([2]);
    expectRelkdError(() => correlationHeatmapSvg(t), 'RANK_MISMATCH');
    t.dispose();
  });
});
