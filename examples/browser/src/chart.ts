/** A minimal live line chart on a canvas (no dependencies). */
export class LineChart {
  private readonly series = new Map<string, Array<[number, number]>>();
  private readonly colors = [
    '#1f6feb',
    '#cf222e',
    '#1a7f37',
    '#8250df',
    '#bc4c00',
    '#0a3069',
    '#bf3989',
  ];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly yRange?: [number, number],
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
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width: W, height: H } = this.canvas;
    const m = { l: 44, r: 90, t: 8, b: 22 };
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';
    const pts = [...this.series.values()].flat();
    if (pts.length === 0) return;
    const xMax = Math.max(1, ...pts.map((p) => p[0]));
    const [y0, y1] = this.yRange ?? [
      Math.min(0, ...pts.map((p) => p[1])),
      Math.max(1e-6, ...pts.map((p) => p[1])),
    ];
    const px = (x: number): number => m.l + (x / xMax) * (W - m.l - m.r);
    const py = (y: number): number => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
    ctx.strokeStyle = '#d0d7de';
    ctx.fillStyle = '#57606a';
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(m.l, py(y));
      ctx.lineTo(W - m.r, py(y));
      ctx.stroke();
      ctx.fillText(y.toPrecision(2), 4, py(y) + 4);
    }
    ctx.fillText(`step ${xMax}`, W - m.r - 50, H - 6);
    [...this.series.entries()].forEach(([name, s], i) => {
      const c = this.colors[i % this.colors.length]!;
      ctx.strokeStyle = c;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      s.forEach(([x, y], j) => {
        if (j === 0) ctx.moveTo(px(x), py(y));
        else ctx.lineTo(px(x), py(y));
      });
      ctx.stroke();
      ctx.fillStyle = c;
      ctx.fillRect(W - m.r + 8, m.t + 6 + i * 15, 10, 3);
      ctx.fillText(name, W - m.r + 22, m.t + 10 + i * 15);
    });
  }
}
