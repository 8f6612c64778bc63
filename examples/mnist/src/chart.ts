import { lineChartSvg, PALETTE } from '../../../tools/charts/lineChartSvg';

/** One line of the chart. */
export interface Series {
  name: string;
  /** y values (accuracy in %), one per epoch (epoch 1 first). */
  values: number[];
}

/**
 * The SVG chart of test accuracy vs epoch (mean over seeds), one line per method, drawn by the
 * repository's one chart renderer (`tools/charts/lineChartSvg.ts`): the first series (the
 * baseline) dashed and grey, the y range the data's padded to whole percents within [0, 100],
 * 7 y ticks, at most 10 epoch labels, each legend entry with its last value.
 */
export function accuracyChart(series: Series[], title: string, width = 720, height = 420): string {
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  let lo = all.length > 0 ? Math.min(...all) : 0;
  let hi = all.length > 0 ? Math.max(...all) : 100;
  const pad = Math.max(0.5, (hi - lo) * 0.05);
  lo = Math.max(0, Math.floor(lo - pad));
  hi = Math.min(100, Math.ceil(hi + pad));
  if (hi <= lo) hi = lo + 1;
  const step = Math.max(1, Math.ceil(epochs / 10));
  return lineChartSvg({
    title,
    width,
    height,
    margin: { left: 56, right: 170, top: 40, bottom: 48 },
    x: {
      label: 'epoch',
      domain: [1, epochs],
      ticks: Array.from({ length: Math.ceil(epochs / step) }, (_, i) => 1 + i * step),
    },
    y: {
      label: 'test accuracy (%)',
      domain: [lo, hi],
      ticks: Array.from({ length: 7 }, (_, i) => lo + ((hi - lo) * i) / 6),
      format: (v) => v.toFixed(1),
    },
    series: series.map((s, i) => {
      const last = s.values[s.values.length - 1];
      return {
        name: `${s.name}${last === undefined ? '' : ` ${last.toFixed(2)}`}`,
        points: s.values.map((v, e) => [e + 1, v] as const),
        ...(i === 0
          ? { color: '#444444', dashed: true }
          : { color: PALETTE[(i - 1) % PALETTE.length]! }),
      };
    }),
  });
}

/** What {@link comparisonChart} reads of a comparison's results (as `mnist.json` stores them). */
export interface ComparisonResults {
  protocol: { data: { name: string }; trainSize: number; seeds: number };
  results: ReadonlyArray<{ label: string; group: string; curve: readonly number[] }>;
}

/**
 * The accuracy chart of a comparison (`docs/benchmarks/mnist*-accuracy.svg`): the method rows'
 * validation curves, labelled without their notes. Reads only what the results JSON holds, so a
 * published chart can be drawn again from its JSON.
 */
export function comparisonChart(c: ComparisonResults): string {
  const { protocol: p } = c;
  return accuracyChart(
    c.results
      .filter((r) => r.group === 'method')
      .map((r) => ({ name: r.label.replace(/ \(.*\)$/, ''), values: [...r.curve] })),
    `${p.data.name}, ${p.trainSize} training images: validation accuracy (first 1 000 images, mean of ${p.seeds} seed${p.seeds > 1 ? 's' : ''})`,
  );
}
