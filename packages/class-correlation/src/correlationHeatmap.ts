import { RelkdError, type TensorInput } from '@relkd/core';
import { assertNonEmpty, assertNumber, assertRank, toTensor } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import { assertColormap, type HeatmapColormap, PALETTES } from './internal/colormap';
import { assertOptionsObject } from './internal/options';

/** Options shared by {@link correlationHeatmap} and {@link correlationHeatmapSvg}. */
export interface HeatmapScaleOptions {
  /** Colour map. Default `'viridis'`. */
  colormap?: HeatmapColormap;
  /** Value mapped to the first colour. Default: the smallest shown entry. */
  min?: number;
  /** Value mapped to the last colour. Default: the largest shown entry. */
  max?: number;
  /**
   * Paint the diagonal in `diagonalColor` and leave it out of the default `min`/`max`, so the
   * off-diagonal structure (which classes the model confuses) uses the whole colour range.
   * Default `false`.
   */
  hideDiagonal?: boolean;
  /** RGB (0..255) of hidden diagonal cells. Default `[255, 255, 255]`. */
  diagonalColor?: readonly [number, number, number];
}

/** Options of {@link correlationHeatmap}. */
export interface CorrelationHeatmapOptions extends HeatmapScaleOptions {
  /** Side of one matrix cell in pixels (integer >= 1). Default `16`. */
  cellSize?: number;
}

/** @internal Validates the shared scale options. */
export function checkScaleOptions(options: HeatmapScaleOptions): void {
  const { colormap = 'viridis', min, max, diagonalColor } = options;
  assertColormap(colormap, 'options.colormap');
  if (min !== undefined) assertNumber(min, 'options.min');
  if (max !== undefined) assertNumber(max, 'options.max');
  if (min !== undefined && max !== undefined && !(max > min)) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`options.max\` (${max}) must be greater than \`options.min\` (${min}).`,
      {
        min,
        max,
      },
    );
  }
  if (diagonalColor !== undefined) {
    if (!Array.isArray(diagonalColor) || diagonalColor.length !== 3) {
      throw new RelkdError('INVALID_OPTION', '`options.diagonalColor` must be an [r, g, b] array.');
    }
    diagonalColor.forEach((v, i) => {
      assertNumber(v, `options.diagonalColor[${i}]`, { min: 0, max: 255 });
    });
  }
}

/**
 * Renders a correlation matrix (any `[R, C]`, typically `[C, C]` from {@link classCorrelation}
 * or a tracker's `matrix()`) as an RGBA image tensor `[R·cellSize, C·cellSize, 4]` int32 in
 * `0..255`, ready for `tf.browser.toPixels(image, canvas)` (or a PNG encoder in Node). Row `r` of
 * the matrix is the `r`-th band of pixels from the top.
 *
 * Values are mapped linearly from `[min, max]` (default: the range of the shown entries,
 * computed on device) to the colour map and clamped. No CPU sync; the caller disposes the result.
 *
 * @throws RelkdError `RANK_MISMATCH`, `DTYPE_MISMATCH`, `EMPTY_BATCH`, `INVALID_OPTION`
 * @example
 * ```ts
 * const g = classCorrelation(teacherLogits);
 * const img = correlationHeatmap(g, { cellSize: 24, hideDiagonal: true });
 * await tf.browser.toPixels(img, canvas);
 * tf.dispose([g, img]);
 * ```
 */
export function correlationHeatmap(
  matrix: tf.Tensor2D | TensorInput,
  options: CorrelationHeatmapOptions = {},
): tf.Tensor3D {
  assertOptionsObject(options);
  checkScaleOptions(options);
  const {
    cellSize = 16,
    colormap = 'viridis',
    min,
    max,
    hideDiagonal = false,
    diagonalColor = [255, 255, 255],
  } = options;
  assertNumber(cellSize, 'options.cellSize', { min: 1, max: 4096, integer: true });
  return tf.tidy(() => {
    const m = toTensor(matrix, 'matrix', 'float');
    assertRank(m, 2, 'matrix', '[R, C]');
    assertNonEmpty(m, 'matrix');
    const [r, c] = m.shape as [number, number];
    if (c === 0)
      throw new RelkdError('EMPTY_BATCH', '`matrix` has zero columns.', { name: 'matrix' });
    const diag = tf.eye(r, c, undefined, 'bool');
    const lo =
      min !== undefined
        ? tf.scalar(min)
        : tf.min(hideDiagonal ? tf.where(diag, tf.fill([r, c], Number.POSITIVE_INFINITY), m) : m);
    const hi =
      max !== undefined
        ? tf.scalar(max)
        : tf.max(hideDiagonal ? tf.where(diag, tf.fill([r, c], Number.NEGATIVE_INFINITY), m) : m);
    const range = tf.sub(hi, lo);
    // A constant matrix (range 0) maps to the middle colour.
    const t = tf.where(
      tf.greater(range, 0),
      tf.clipByValue(tf.div(tf.sub(m, lo), tf.maximum(range, 1e-30)), 0, 1),
      tf.fill([r, c], 0.5),
    );
    const pal = PALETTES[colormap];
    const k = pal.length - 1;
    const palette = tf.tensor2d(
      pal.map((p) => [...p]),
      [k + 1, 3],
    );
    const s = tf.mul(tf.reshape(t, [-1]), k);
    const i0f = tf.minimum(tf.floor(s), k - 1);
    const f = tf.expandDims(tf.sub(s, i0f), 1);
    const c0 = tf.gather(palette, tf.cast(i0f, 'int32'));
    const c1 = tf.gather(palette, tf.cast(tf.add(i0f, 1), 'int32'));
    let rgb = tf.add(tf.mul(tf.sub(1, f), c0), tf.mul(f, c1));
    if (hideDiagonal) {
      const d = tf.expandDims(tf.cast(tf.reshape(diag, [-1]), 'float32'), 1);
      rgb = tf.add(tf.mul(tf.sub(1, d), rgb), tf.mul(d, tf.tensor2d([[...diagonalColor]], [1, 3])));
    }
    const rgba = tf.concat([rgb, tf.fill([r * c, 1], 255)], 1);
    const cells = tf.reshape(tf.clipByValue(tf.round(rgba), 0, 255), [r, c, 4]);
    const image =
      cellSize === 1
        ? cells
        : tf.reshape(tf.tile(tf.reshape(cells, [r, 1, c, 1, 4]), [1, cellSize, 1, cellSize, 1]), [
            r * cellSize,
            c * cellSize,
            4,
          ]);
    return tf.cast(image, 'int32') as tf.Tensor3D;
  });
}
