import { assertOneOf } from '@relkd/core/internal';

/** Colour maps of the heat-map helpers. */
export type HeatmapColormap = 'viridis' | 'magma' | 'gray';

export const COLORMAPS: readonly HeatmapColormap[] = ['viridis', 'magma', 'gray'];

/**
 * Control points (RGB 0..255, evenly spaced on [0, 1]) interpolated linearly. The viridis and
 * magma points are matplotlib's colour maps sampled at 0, 1/8, …, 1.
 */
export const PALETTES: Readonly<
  Record<HeatmapColormap, readonly (readonly [number, number, number])[]>
> = {
  viridis: [
    [68, 1, 84],
    [71, 45, 123],
    [59, 82, 139],
    [44, 114, 142],
    [33, 145, 140],
    [40, 174, 128],
    [94, 201, 98],
    [173, 220, 48],
    [253, 231, 37],
  ],
  magma: [
    [0, 0, 4],
    [28, 16, 68],
    [79, 18, 123],
    [129, 37, 129],
    [181, 54, 122],
    [229, 80, 100],
    [251, 135, 97],
    [254, 194, 135],
    [252, 253, 191],
  ],
  gray: [
    [0, 0, 0],
    [255, 255, 255],
  ],
};

export function assertColormap(value: unknown, name: string): asserts value is HeatmapColormap {
  assertOneOf(value, COLORMAPS, name);
}

/** The colour of `t ∈ [0, 1]` (clamped; NaN maps to 0) as integer RGB. Pure JS. */
export function colorAt(colormap: HeatmapColormap, t: number): [number, number, number] {
  const pal = PALETTES[colormap];
  const k = pal.length - 1;
  const tc = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const i0 = Math.min(k - 1, Math.floor(tc * k));
  const f = tc * k - i0;
  const a = pal[i0]!;
  const b = pal[i0 + 1]!;
  return [0, 1, 2].map((ch) => Math.round((1 - f) * a[ch]! + f * b[ch]!)) as [
    number,
    number,
    number,
  ];
}
