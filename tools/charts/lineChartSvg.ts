/**
 * The one line-chart renderer of the repository: a dependency-free SVG string, used by the MNIST
 * benchmark (accuracy per epoch), the performance benchmark (log-log sweeps) and the browser page
 * (live loss and accuracy, inserted into the DOM). Tooling only: no library package imports it.
 */

/** One line of a chart. */
export interface ChartSeries {
  /** Legend text. */
  name: string;
  /** `[x, y]` points in drawing order; non-finite ones (and non-positive ones on a log axis) are left out. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Stroke colour. Default: {@link PALETTE} by the series' index. */
  color?: string;
  /** Dashed line (a baseline). Default false. */
  dashed?: boolean;
}

/** An axis: its label, scale, the value range drawn and where the ticks go. */
export interface ChartAxis {
  label: string;
  /** `'log'`: positions by the logarithm of the value. Default `'linear'`. */
  scale?: 'linear' | 'log';
  /** `[min, max]` of the drawn range (equal ends draw everything in the middle). */
  domain: readonly [number, number];
  /** Tick values: grid lines and labels on y, labels on x. */
  ticks: readonly number[];
  /** Tick label. Default `String(v)`. */
  format?: (v: number) => string;
}

/** What {@link lineChartSvg} draws. */
export interface LineChartOptions {
  /** Bold title above the plot (none when absent). */
  title?: string;
  width: number;
  height: number;
  /** Room around the plot area; the legend sits in the right margin. */
  margin: { left: number; right: number; top: number; bottom: number };
  x: ChartAxis;
  y: ChartAxis;
  series: readonly ChartSeries[];
  /** A dot at every point. Default false. */
  markers?: boolean;
}

/** The default series colours: d3's category10 without its grey (kept for baselines). */
export const PALETTE: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#bcbd22',
  '#17becf',
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Position in [0, 1] of `v` on `axis` (0.5 when the domain is one point). */
function fraction(axis: ChartAxis, v: number): number {
  const f = axis.scale === 'log' ? Math.log10 : (u: number) => u;
  const [a, b] = [f(axis.domain[0]), f(axis.domain[1])];
  return b === a ? 0.5 : (f(v) - a) / (b - a);
}

/**
 * A line chart as an SVG document (one element per line, trailing newline): white background,
 * optional title, horizontal grid lines at the y ticks, x tick labels, both axes and their labels,
 * one polyline per series (dashed if asked, dots with `markers`) and a legend in the right margin.
 * Coordinates are rounded to 0.1 px.
 *
 * @example
 * ```ts
 * const svg = lineChartSvg({
 *   width: 640, height: 360, margin: { left: 56, right: 150, top: 40, bottom: 48 },
 *   x: { label: 'epoch', domain: [1, 3], ticks: [1, 2, 3] },
 *   y: { label: 'accuracy (%)', domain: [90, 100], ticks: [90, 95, 100] },
 *   series: [{ name: 'KD', points: [[1, 91], [2, 95], [3, 97]] }],
 * });
 * ```
 */
export function lineChartSvg(o: LineChartOptions): string {
  const { width, height, margin: m, x, y } = o;
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const px = (v: number) => m.left + fraction(x, v) * w;
  const py = (v: number) => m.top + (1 - fraction(y, v)) * h;
  const fx = x.format ?? String;
  const fy = y.format ?? String;
  const drawn = (axis: ChartAxis, v: number) =>
    Number.isFinite(v) && (axis.scale !== 'log' || v > 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (o.title !== undefined) {
    out.push(`<text x="${m.left}" y="22" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  }
  for (const v of y.ticks) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${esc(fy(v))}</text>`,
    );
  }
  for (const v of x.ticks) {
    out.push(
      `<text x="${px(v).toFixed(1)}" y="${m.top + h + 18}" text-anchor="middle">${esc(fx(v))}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#333"/>`,
    `<text x="${m.left + w / 2}" y="${height - 10}" text-anchor="middle">${esc(x.label)}</text>`,
    `<text transform="translate(16 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(y.label)}</text>`,
  );
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points
      .filter(([a, b]) => drawn(x, a) && drawn(y, b))
      .map(([a, b]) => [px(a).toFixed(1), py(b).toFixed(1)] as const);
    out.push(
      `<polyline points="${pts.map(([a, b]) => `${a},${b}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    if (o.markers === true) {
      for (const [a, b] of pts) out.push(`<circle cx="${a}" cy="${b}" r="3" fill="${color}"/>`);
    }
    const ly = m.top + 10 + i * 20;
    out.push(
      `<line x1="${m.left + w + 16}" x2="${m.left + w + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${m.left + w + 46}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
