import type { Measurement } from './measure';

/** One row of the benchmark report. */
export interface Row {
  backend: string;
  loss: string;
  shape: string;
  B: number;
  C: number;
  forward: Measurement;
  backward: Measurement;
  /** tfjs/torch ratio of the forward + backward median, when a torch peer result exists. */
  torchRatio?: number;
}

/** Formats bytes as KiB/MiB. */
export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const fmtMs = (m: Measurement): string =>
  `${m.medianMs.toFixed(2)} (${m.p10Ms.toFixed(2)}–${m.p90Ms.toFixed(2)})`;

/** Markdown table of rows. */
export function markdownTable(rows: readonly Row[], withTorch: boolean): string {
  const head = [
    'backend',
    'loss',
    'shape',
    'fwd ms (p10–p90)',
    'fwd+bwd ms (p10–p90)',
    'kernels fwd / fwd+bwd',
    'peak fwd+bwd',
    'leaked',
    ...(withTorch ? ['tfjs / torch'] : []),
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.backend,
        r.loss,
        r.shape,
        fmtMs(r.forward),
        fmtMs(r.backward),
        `${r.forward.kernels} / ${r.backward.kernels}`,
        fmtBytes(r.backward.peakBytes),
        String(r.forward.leakedTensors + r.backward.leakedTensors),
        ...(withTorch ? [r.torchRatio === undefined ? '—' : `${r.torchRatio.toFixed(2)}x`] : []),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** A small SVG line chart: one polyline per series, log-scaled y. */
export function svgChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: { name: string; points: Array<[number, number]> }[],
): string {
  const W = 640;
  const H = 360;
  const m = { l: 70, r: 150, t: 36, b: 48 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => y > 0);
  if (xs.length === 0 || ys.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"></svg>`;
  const lx = (x: number): number => Math.log2(x);
  const ly = (y: number): number => Math.log10(Math.max(y, 1e-6));
  const [x0, x1] = [Math.min(...xs.map(lx)), Math.max(...xs.map(lx))];
  const [y0, y1] = [Math.floor(Math.min(...ys.map(ly))), Math.ceil(Math.max(...ys.map(ly)))];
  const px = (x: number): number =>
    m.l + ((lx(x) - x0) / Math.max(x1 - x0, 1e-9)) * (W - m.l - m.r);
  const py = (y: number): number =>
    H - m.b - ((ly(y) - y0) / Math.max(y1 - y0, 1e-9)) * (H - m.t - m.b);
  const colors = [
    '#1f77b4',
    '#d62728',
    '#2ca02c',
    '#9467bd',
    '#ff7f0e',
    '#8c564b',
    '#e377c2',
    '#17becf',
    '#7f7f7f',
    '#bcbd22',
  ];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="20" font-size="14" font-weight="bold">${title}</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y + 4}" text-anchor="end">1e${e}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<text x="${px(x)}" y="${H - m.b + 16}" text-anchor="middle">${x}</text>`);
  }
  parts.push(
    `<text x="${(W - m.r + m.l) / 2}" y="${H - 10}" text-anchor="middle">${xLabel}</text>`,
  );
  parts.push(
    `<text x="16" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})" text-anchor="middle">${yLabel}</text>`,
  );
  series.forEach((s, i) => {
    const c = colors[i % colors.length];
    const pts = s.points.filter((p) => p[1] > 0).sort((a, b) => a[0] - b[0]);
    parts.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      parts.push(
        `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${c}"/>`,
      );
    parts.push(`<rect x="${W - m.r + 12}" y="${m.t + i * 18}" width="12" height="3" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 30}" y="${m.t + i * 18 + 5}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
