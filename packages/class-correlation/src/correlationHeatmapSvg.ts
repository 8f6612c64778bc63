import { RelkdError } from '@relkd/core';
import { assertNumber, formatShape } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { checkScaleOptions, type HeatmapScaleOptions } from './correlationHeatmap';
import { colorAt } from './internal/colormap';
import { assertOptionsObject } from './internal/options';

/** Options of {@link correlationHeatmapSvg}. */
export interface CorrelationHeatmapSvgOptions extends HeatmapScaleOptions {
  /** Side of one cell in SVG user units (> 0). Default `24`. */
  cellSize?: number;
  /** Class names for the axes (length `C` columns; rows use the first `R`). Default: indices. */
  labels?: readonly string[];
  /** Print each value inside its cell. Default `false`. */
  showValues?: boolean;
  /** Significant digits of printed values and tooltips. Default `3`. */
  digits?: number;
  /** A title above the matrix. Default: none. */
  title?: string;
  /** Draw a colour bar with the `min`/`max` values on the right. Default `true`. */
  legend?: boolean;
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Renders a correlation matrix as a standalone SVG document (a string; pure JS, no DOM): one
 * `<rect>` per cell coloured like {@link correlationHeatmap}, a `<title>` tooltip with the value,
 * axis labels (rows: teacher/true class, columns: correlated class) and an optional colour bar.
 *
 * `matrix` may be a `number[][]` or a 2-D tensor; a tensor is read with `arraySync()` (a CPU
 * sync: call it for reports, not inside a training step). The tensor is not disposed.
 *
 * @throws RelkdError `RANK_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const svg = correlationHeatmapSvg(tracker.matrix(), { labels: ['0', '1', '2'], showValues: true });
 * ```
 */
export function correlationHeatmapSvg(
  matrix: tf.Tensor | readonly (readonly number[])[],
  options: CorrelationHeatmapSvgOptions = {},
): string {
  assertOptionsObject(options);
  checkScaleOptions(options);
  const {
    cellSize = 24,
    labels,
    showValues = false,
    digits = 3,
    title,
    legend = true,
    colormap = 'viridis',
    hideDiagonal = false,
    diagonalColor = [255, 255, 255],
  } = options;
  assertNumber(cellSize, 'options.cellSize', { min: 0, exclusiveMin: true });
  assertNumber(digits, 'options.digits', { min: 1, max: 21, integer: true });
  const rows = readMatrix(matrix);
  const r = rows.length;
  const c = rows[0]!.length;
  if (labels !== undefined && (!Array.isArray(labels) || labels.length < Math.max(r, c))) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.labels\` must be an array of at least ${Math.max(r, c)} names, got ${Array.isArray(labels) ? labels.length : typeof labels}.`,
    );
  }
  const name = (i: number): string => escapeXml(labels ? String(labels[i]) : String(i));
  const shown = (i: number, j: number): boolean => !(hideDiagonal && i === j);
  let lo = options.min;
  let hi = options.max;
  if (lo === undefined || hi === undefined) {
    let a = Number.POSITIVE_INFINITY;
    let b = Number.NEGATIVE_INFINITY;
    rows.forEach((row, i) => {
      row.forEach((v, j) => {
        if (shown(i, j) && Number.isFinite(v)) {
          a = Math.min(a, v);
          b = Math.max(b, v);
        }
      });
    });
    lo ??= Number.isFinite(a) ? a : 0;
    hi ??= Number.isFinite(b) ? b : 1;
  }
  const span = hi - lo;
  const tOf = (v: number): number => (span > 0 ? (v - lo) / span : 0.5);
  const fmt = (v: number): string => Number(v.toPrecision(digits)).toString();
  const rgb = (p: readonly number[]): string => `rgb(${p[0]},${p[1]},${p[2]})`;

  const font = Math.max(6, Math.min(14, cellSize * 0.45));
  const labelW =
    Math.ceil(font * (labels ? Math.max(2, ...labels.map((l) => String(l).length)) * 0.62 : 3)) + 6;
  const top = (title ? font * 2 : 0) + labelW;
  const left = labelW;
  const gridW = c * cellSize;
  const gridH = r * cellSize;
  const legendW = legend ? cellSize * 0.8 + font * 6 : 0;
  const width = left + gridW + (legend ? cellSize : 0) + legendW + 4;
  const height = top + gridH + 4;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="${font}">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  if (title)
    out.push(`<text x="${left}" y="${font * 1.3}" font-weight="bold">${escapeXml(title)}</text>`);
  for (let j = 0; j < c; j++) {
    const x = left + (j + 0.5) * cellSize;
    const y = top - 4;
    out.push(
      `<text transform="translate(${x},${y}) rotate(-90)" dominant-baseline="middle">${name(j)}</text>`,
    );
  }
  for (let i = 0; i < r; i++) {
    const y = top + (i + 0.5) * cellSize;
    out.push(
      `<text x="${left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${name(i)}</text>`,
    );
  }
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      const fill = shown(i, j) ? rgb(colorAt(colormap, tOf(v))) : rgb(diagonalColor);
      const x = left + j * cellSize;
      const y = top + i * cellSize;
      out.push(
        `<rect x="${x}" y="${y}" width="${cellSize}" height="${cellSize}" fill="${fill}"><title>${name(i)} / ${name(j)}: ${fmt(v)}</title></rect>`,
      );
      if (showValues) {
        const t = shown(i, j) ? tOf(v) : 1;
        const ink = t > 0.6 || !shown(i, j) ? '#000' : '#fff';
        out.push(
          `<text x="${x + cellSize / 2}" y="${y + cellSize / 2}" text-anchor="middle" dominant-baseline="middle" font-size="${font * 0.8}" fill="${ink}">${fmt(v)}</text>`,
        );
      }
    });
  });
  if (legend) {
    const lx = left + gridW + cellSize;
    const steps = 32;
    const h = gridH / steps;
    for (let s = 0; s < steps; s++) {
      const t = 1 - (s + 0.5) / steps;
      out.push(
        `<rect x="${lx}" y="${top + s * h}" width="${cellSize * 0.8}" height="${h + 0.5}" fill="${rgb(colorAt(colormap, t))}"/>`,
      );
    }
    out.push(
      `<text x="${lx + cellSize}" y="${top + font * 0.5}" dominant-baseline="middle">${fmt(hi)}</text>`,
    );
    out.push(
      `<text x="${lx + cellSize}" y="${top + gridH - font * 0.5}" dominant-baseline="middle">${fmt(lo)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

function readMatrix(matrix: tf.Tensor | readonly (readonly number[])[]): number[][] {
  let rows: number[][];
  if (matrix instanceof tf.Tensor) {
    if (matrix.isDisposed) throw new RelkdError('INVALID_OPTION', '`matrix` is a disposed tensor.');
    if (matrix.rank !== 2) {
      throw new RelkdError(
        'RANK_MISMATCH',
        `\`matrix\` must have rank 2 ([R, C]), got ${formatShape(matrix.shape)}.`,
      );
    }
    rows = matrix.arraySync() as number[][];
  } else if (Array.isArray(matrix) && matrix.every((row) => Array.isArray(row))) {
    rows = matrix.map((row) => row.map(Number));
  } else {
    throw new RelkdError('INVALID_OPTION', '`matrix` must be a 2-D tensor or a number[][].');
  }
  if (rows.length === 0 || rows[0]!.length === 0) {
    throw new RelkdError('EMPTY_BATCH', '`matrix` is empty.');
  }
  const c = rows[0]!.length;
  rows.forEach((row, i) => {
    if (row.length !== c) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `\`matrix[${i}]\` has ${row.length} entries, row 0 has ${c}.`,
      );
    }
  });
  return rows;
}
