import { lineChartSvg } from '../../../tools/charts/lineChartSvg';

/**
 * A live line chart: collects `(x, y)` points per series and draws them into `el` as SVG with
 * the repository's one chart renderer (`tools/charts/lineChartSvg.ts`), redrawn on `draw()`.
 */
export class LineChart {
  private readonly series = new Map<string, Array<[number, number]>>();

  constructor(
    private readonly el: HTMLElement,
    private readonly options: { xLabel: string; yLabel: string; yRange?: [number, number] },
    private readonly size = { width: 460, height: 240 },
  ) {}

  clear(): void {
    this.series.clear();
    this.draw();
  }

  push(name: string, x: number, y: number): void {
    if (!Number.isFinite(y)) return;
    const s = this.series.get(name) ?? [];
    s.push([x, y]);
    this.series.set(name, s);
  }

  draw(): void {
    const pts = [...this.series.values()].flat();
    const xMax = Math.max(1, ...pts.map((p) => p[0]));
    const [y0, y1] = this.options.yRange ?? [
      Math.min(0, ...pts.map((p) => p[1])),
      Math.max(1e-6, ...pts.map((p) => p[1])),
    ];
    this.el.innerHTML = lineChartSvg({
      ...this.size,
      margin: { left: 52, right: 100, top: 12, bottom: 40 },
      x: { label: this.options.xLabel, domain: [0, xMax], ticks: [0, xMax] },
      y: {
        label: this.options.yLabel,
        domain: [y0, y1],
        ticks: Array.from({ length: 5 }, (_, i) => y0 + ((y1 - y0) * i) / 4),
        format: (v) => v.toPrecision(2),
      },
      series: [...this.series].map(([name, points]) => ({ name, points })),
    });
  }
}
