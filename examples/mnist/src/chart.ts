/** One line of the chart. */
export interface Series {
  name: string;
  /** y values (accuracy in %), one per epoch (epoch 1 first). */
  values: number[];
}

const COLORS = [
  '#444444',
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A dependency-free SVG line chart of test accuracy vs epoch (mean over seeds), one line per
 * method; the baseline is drawn dashed.
 */
export function accuracyChart(series: Series[], title: string, width = 720, height = 420): string {
  const m = { left: 56, right: 170, top: 40, bottom: 48 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  let lo = all.length > 0 ? Math.min(...all) : 0;
  let hi = all.length > 0 ? Math.max(...all) : 100;
  const pad = Math.max(0.5, (hi - lo) * 0.05);
  lo = Math.max(0, Math.floor(lo - pad));
  hi = Math.min(100, Math.ceil(hi + pad));
  if (hi <= lo) hi = lo + 1;
  const x = (e: number) => m.left + (epochs === 1 ? w / 2 : ((e - 1) / (epochs - 1)) * w);
  const y = (v: number) => m.top + (1 - (v - lo) / (hi - lo)) * h;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const v = lo + ((hi - lo) * i) / ticks;
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    out.push(
      `<text x="${m.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += step) {
    out.push(`<text x="${x(e).toFixed(1)}" y="${m.top + h + 18}" text-anchor="middle">${e}</text>`);
  }
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}" stroke="#333"/>`);
  out.push(
    `<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#333"/>`,
  );
  out.push(`<text x="${m.left + w / 2}" y="${height - 10}" text-anchor="middle">epoch</text>`);
  out.push(
    `<text transform="translate(16 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">test accuracy (%)</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.values
      .map((v, e) => (Number.isFinite(v) ? `${x(e + 1).toFixed(1)},${y(v).toFixed(1)}` : ''))
      .filter((p) => p !== '')
      .join(' ');
    const dash = i === 0 ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const ly = m.top + 10 + i * 20;
    out.push(
      `<line x1="${m.left + w + 16}" x2="${m.left + w + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    const last = s.values[s.values.length - 1];
    out.push(
      `<text x="${m.left + w + 46}" y="${ly + 4}">${esc(s.name)}${last === undefined ? '' : ` ${last.toFixed(2)}`}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
