/**
 * The benchmark's report: tables (Markdown and console) from run results and paired statistics
 * (docOutput.ts splices them into a page; renderers.ts writes the report files).
 */
import { ARMS, type Arm, type Config, type Family } from './arms';
import type { RunResult } from './jobs';
import { mean, type PairedDiff, pairedDiff, std } from './stats';

/** The results of one arm over its seeds. */
export interface ArmSummary {
  arm: Arm;
  config: Config;
  runs: RunResult[];
  test: number[];
  val: number[];
  mean: number;
  std: number;
  secondsPerEpoch: number;
  curve: number[];
}

/** Groups run results by arm (in `order`), seeds sorted. */
export function summarise(order: readonly string[], runs: readonly RunResult[]): ArmSummary[] {
  return order.map((id) => {
    const arm = ARMS.find((a) => a.id === id)!;
    const rs = runs.filter((r) => r.arm === id).sort((a, b) => a.s - b.s);
    const test = rs.map((r) => r.test);
    const epochs = Math.max(0, ...rs.map((r) => r.curve.length));
    return {
      arm,
      config: rs[0]?.config ?? {},
      runs: rs,
      test,
      val: rs.map((r) => r.val),
      mean: mean(test),
      std: std(test),
      secondsPerEpoch: mean(rs.map((r) => r.secondsPerEpoch)),
      curve: Array.from({ length: epochs }, (_, e) => mean(rs.map((r) => r.curve[e]!))),
    };
  });
}

/** Paired difference of two arms' test accuracies over the seeds both ran. */
export function diff(a: ArmSummary, b: ArmSummary): PairedDiff {
  const seeds = a.runs.map((r) => r.s).filter((s) => b.runs.some((r) => r.s === s));
  const pick = (x: ArmSummary) => seeds.map((s) => x.runs.find((r) => r.s === s)!.test);
  return pairedDiff(pick(a), pick(b));
}

const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;

/** `+0.42 [+0.10, +0.74]` with a verdict mark when the interval excludes 0. */
export function fmtDiff(d: PairedDiff): string {
  if (d.n < 2 || !Number.isFinite(d.low)) return `${sign(d.mean)} (1 seed: no interval)`;
  const mark = d.significant ? (d.mean > 0 ? ' ✓' : ' ✗') : '';
  return `${sign(d.mean)} [${sign(d.low)}, ${sign(d.high)}]${mark}`;
}

export const fmtAcc = (s: ArmSummary) => `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`;

/** A configuration as `key=value` pairs (stable order). */
export function fmtConfig(c: Config): string {
  return Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`)
    .join(', ');
}

/** A Markdown table. */
export function mdTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The same table for the console (padded columns). */
export function consoleTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, j) => c.padEnd(widths[j]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The main table: every method and control with its paired differences to CE and to KD. */
export function mainTable(
  sums: ArmSummary[],
  seeds: number,
): { header: string[]; rows: string[][] } {
  const ce = sums.find((s) => s.arm.id === 'ce');
  const kd = sums.find((s) => s.arm.id === 'kd');
  const header = [
    'Arm',
    `Test acc. % (mean ± std, ${seeds} seed${seeds > 1 ? 's' : ''})`,
    'Δ vs CE [95% CI]',
    'Δ vs KD [95% CI]',
    's / epoch',
    'Teacher',
  ];
  const rows = sums.map((s) => [
    s.arm.group === 'control' ? `*control:* ${s.arm.label}` : s.arm.label,
    fmtAcc(s),
    ce === undefined || s === ce ? '—' : fmtDiff(diff(s, ce)),
    kd === undefined || s === kd || s.arm.teacher === undefined ? '—' : fmtDiff(diff(s, kd)),
    s.secondsPerEpoch.toFixed(1),
    s.arm.teacher ?? 'none',
  ]);
  return { header, rows };
}

/** Each method against the control that isolates what it adds. */
export const YARDSTICKS: ReadonlyArray<[string, string]> = [
  ['vrm', 'kd+view'],
  ['vrm', 'ce+view'],
  ['icc', 'kd@icc'],
  ['stkd', 'ce+mixup'],
  ['corsd', 'selfkd'],
];

export function yardstickTable(sums: ArmSummary[]): { header: string[]; rows: string[][] } {
  const by = (id: string) => sums.find((s) => s.arm.id === id);
  const rows: string[][] = [];
  for (const [m, c] of YARDSTICKS) {
    const a = by(m);
    const b = by(c);
    if (a === undefined || b === undefined) continue;
    rows.push([a.arm.label, b.arm.label, fmtAcc(a), fmtAcc(b), fmtDiff(diff(a, b))]);
  }
  return {
    header: ['Method', 'Control', 'Method acc. %', 'Control acc. %', 'Δ method − control [95% CI]'],
    rows,
  };
}

/** Ablations of one method: each row against the full method. */
export function ablationTable(
  full: ArmSummary,
  ablations: ArmSummary[],
): { header: string[]; rows: string[][] } {
  return {
    header: ['Row', 'Test acc. % (mean ± std)', 'Δ vs full method [95% CI]', 's / epoch'],
    rows: [
      [`${full.arm.label} (all components)`, fmtAcc(full), '—', full.secondsPerEpoch.toFixed(1)],
      ...ablations.map((a) => [
        a.arm.label,
        fmtAcc(a),
        fmtDiff(diff(a, full)),
        a.secondsPerEpoch.toFixed(1),
      ]),
    ],
  };
}

/** The tuned configurations (and what else each family fixes). */
export function configTable(configs: Record<Family, Config>, tunedKeys: Record<string, string[]>) {
  const rows = (Object.keys(configs) as Family[])
    .filter((f) => f !== 'ce')
    .map((f) => {
      const c = configs[f];
      const tuned = tunedKeys[f] ?? [];
      const t: Config = {};
      const rest: Config = {};
      for (const [k, v] of Object.entries(c)) (tuned.includes(k) ? t : rest)[k] = v;
      return [f, fmtConfig(t) || '—', fmtConfig(rest) || '—'];
    });
  return { header: ['Family', 'Tuned (chosen on validation)', 'Fixed'], rows };
}
