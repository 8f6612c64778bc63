import { existsSync, readFileSync } from 'node:fs';
import { type ChartAxis, lineChartSvg } from '../../../tools/charts/lineChartSvg';
import type { Measurement } from './measure';
import type { OverheadRow } from './overhead';
import type { StreamingRow } from './streaming';
import { renderWholeSteps } from './wholeStepReport';
import type { KernelProfile, StepTorchResults, WholeStepRow } from './wholeSteps';

/** One row of the benchmark report (a loss at a reference shape on one backend). */
export interface Row {
  backend: string;
  loss: string;
  shape: string;
  B: number;
  C: number;
  forward: Measurement;
  backward: Measurement;
  /** tfjs/torch ratio of the forward + backward median, when a torch peer result exists. */
  torchBackwardRatio?: number;
  /** tfjs/torch ratio of the forward median. */
  torchForwardRatio?: number;
}

/** One point of a B or C sweep (forward + backward). */
export interface SweepPoint {
  backend: string;
  loss: string;
  axis: 'B' | 'C';
  value: number;
  B: number;
  C: number;
  ms: number;
  p10Ms: number;
  p90Ms: number;
  peakBytes: number;
  kernels: number;
  leakedTensors: number;
}

/** Whether a loss dispatched the same number of kernels at every sweep point. */
export interface KernelConstancy {
  loss: string;
  backend: string;
  constant: boolean;
  kernels: number[];
  byPoint: string[];
}

/** Report header data. */
export interface Meta {
  date: string;
  machine: string;
  loadStart: number[];
  loadEnd: number[];
  minutes: number;
  node: string;
  tfjs: string;
  backends: string[];
  backendInfo: Record<string, unknown>;
  describe: unknown;
  quick: boolean;
  /** Free-text provenance note (e.g. rows merged from two runs). */
  note?: string;
}

/** tools/reference/bench_torch.json. */
export interface TorchResults {
  version: string;
  threads: number;
  date?: string;
  machine?: string;
  loadavg?: number[];
  results: Array<{ loss: string; B: number; C: number; forwardMs: number; backwardMs: number }>;
}

/** Reads the PyTorch peer's JSON when present. */
export function readTorch(file: string): TorchResults | null {
  if (!existsSync(file)) return null;
  const t = JSON.parse(readFileSync(file, 'utf8')) as TorchResults;
  return Array.isArray(t.results) ? t : null;
}

/** Tick label of a power of ten of bytes, in decimal units (1 kB, 10 MB, ...). */
export function fmtPow10Bytes(n: number): string {
  const e = Math.round(Math.log10(n));
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  const u = Math.min(units.length - 1, Math.max(0, Math.floor(e / 3)));
  return `${10 ** (e - 3 * u)} ${units[u]}`;
}

/** Formats bytes as KiB/MiB. */
export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

const fmt = (x: number): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const fmtMs = (m: Measurement): string =>
  m.repeats === 1
    ? `${fmt(m.medianMs)} (n = 1)`
    : `${fmt(m.medianMs)} (${fmt(m.p10Ms)}–${fmt(m.p90Ms)})`;
const ratio = (r: number | undefined): string => (r === undefined ? '—' : `${r.toFixed(2)}x`);

/** Markdown table of rows. */
export function markdownTable(rows: readonly Row[], withTorch: boolean): string {
  const head = [
    'backend',
    'loss',
    'shape (B, C)',
    'fwd ms (p10–p90)',
    'fwd+bwd ms (p10–p90)',
    'kernels fwd / fwd+bwd',
    'peak fwd / fwd+bwd',
    'leaked',
    ...(withTorch ? ['tfjs/torch fwd', 'tfjs/torch fwd+bwd'] : []),
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.backend,
        r.loss,
        `${r.shape} (${r.B}, ${r.C})`,
        fmtMs(r.forward),
        fmtMs(r.backward),
        `${r.forward.kernels} / ${r.backward.kernels}`,
        `${fmtBytes(r.forward.peakBytes)} / ${fmtBytes(r.backward.peakBytes)}`,
        String(r.forward.leakedTensors + r.backward.leakedTensors),
        ...(withTorch ? [ratio(r.torchForwardRatio), ratio(r.torchBackwardRatio)] : []),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** A log axis over `values`: x at each distinct value, y at the decades around them. */
function logAxis(
  label: string,
  values: readonly number[],
  ticks: 'values' | 'decades',
  format?: (v: number) => string,
): ChartAxis {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return { label, scale: 'log', domain: [1, 1], ticks: [] };
  if (ticks === 'values') {
    const xs = [...new Set(positive)].sort((a, b) => a - b);
    return { label, scale: 'log', domain: [xs[0]!, xs[xs.length - 1]!], ticks: xs };
  }
  const e0 = Math.floor(Math.min(...positive.map(Math.log10)));
  const e1 = Math.ceil(Math.max(...positive.map(Math.log10)));
  const decades = Array.from({ length: e1 - e0 + 1 }, (_, i) => 10 ** (e0 + i));
  return {
    label,
    scale: 'log',
    domain: [10 ** e0, 10 ** e1],
    ticks: decades,
    format: format ?? ((v) => `1e${Math.round(Math.log10(v))}`),
  };
}

/**
 * The sweep charts, `[file, svg]`: forward + backward time and peak memory vs B and vs C, one
 * log-log line (with dots) per loss, of the wasm sweeps (the targets are about WASM), else of the
 * first swept backend. Drawn by the repository's one chart renderer (`tools/charts`).
 */
export function sweepCharts(sweeps: readonly SweepPoint[]): Array<[string, string]> {
  const swept = [...new Set(sweeps.map((s) => s.backend))];
  const backend = swept.includes('wasm') ? 'wasm' : (swept[0] ?? '');
  const losses = [...new Set(sweeps.map((s) => s.loss))];
  const charts: Array<[string, string]> = [];
  for (const axis of ['B', 'C'] as const) {
    for (const what of ['time', 'memory'] as const) {
      const series = losses.map((loss) => ({
        name: loss,
        points: sweeps
          .filter((s) => s.loss === loss && s.axis === axis && s.backend === backend)
          .map((s) => [s.value, what === 'time' ? s.ms : s.peakBytes] as const)
          .sort((a, b) => a[0] - b[0]),
      }));
      const points = series.flatMap((s) => s.points);
      charts.push([
        `performance-sweep-${axis}-${what}.svg`,
        lineChartSvg({
          title: `${what === 'time' ? 'fwd+bwd time' : 'peak memory'} vs ${axis} (${backend})`,
          width: 640,
          height: 360,
          margin: { left: 84, right: 150, top: 36, bottom: 48 },
          x: logAxis(
            axis === 'B' ? 'batch size B (C = 100)' : 'classes C (B = 64)',
            points.map((p) => p[0]),
            'values',
          ),
          y: logAxis(
            what === 'time' ? 'ms per call' : 'peak bytes per call',
            points.map((p) => p[1]),
            'decades',
            what === 'memory' ? fmtPow10Bytes : undefined,
          ),
          series,
          markers: true,
        }),
      ]);
    }
  }
  return charts;
}

/** Everything the Markdown report shows. */
export interface ReportData {
  meta: Meta;
  rows: Row[];
  sweeps: SweepPoint[];
  kernelConstancy: KernelConstancy[];
  overhead: OverheadRow[];
  /** Each method's whole `Distiller.step` (issue #19) and the per-kernel profiles (absent: not measured). */
  wholeSteps?: WholeStepRow[];
  kernelProfiles?: KernelProfile[];
  /** tools/reference/step_torch.json, when present. */
  stepTorch?: StepTorchResults | null;
  /** Offline teacher outputs streamed from shards (empty: not measured). */
  streaming: StreamingRow[];
  torch: TorchResults | null;
  failures: string[];
  charts: string[];
  /** Hand-written findings (packages/bench/findings.md), appended as they are. */
  findings: string;
}

/** The overhead rows the 10% target is about: the logit terms themselves (VRM: the term alone). */
const LOGIT_TERMS = ['kd', 'stkd', 'icc', 'vrm (term only)'];
const MiB64 = 64 * 2 ** 20;
const yes = (ok: boolean): string => (ok ? '**met**' : '**missed**');

/** The target summary: one line per target of issue #9 with the measured numbers. */
function targets(d: ReportData): string {
  const out: string[] = [];
  const wasmOverhead = d.overhead.filter(
    (o) => o.backend === 'wasm' && LOGIT_TERMS.includes(o.method),
  );
  if (wasmOverhead.length) {
    const worst = Math.max(...wasmOverhead.map((o) => o.ratio));
    const pct = (o: OverheadRow): string =>
      `${o.method} ${o.ratio >= 1 ? '+' : '−'}${Math.abs((o.ratio - 1) * 100).toFixed(0)}%`;
    const full = d.overhead.filter((o) => o.backend === 'wasm' && o.method === 'vrm');
    out.push(
      `| Logit-based terms (KD, STKD, ICC, VRM default) add ≤ 10% to the MNIST student's step on WASM | ${wasmOverhead.map(pct).join(', ')}${full.length ? `; the whole VRM method (a second student forward/backward on the virtual view) ${pct(full[0]!).replace('vrm ', '')}` : ''} | ${yes(worst <= 1.1)}${
        worst <= 1.1
          ? ' for the terms'
          : ` (${wasmOverhead
              .filter((o) => o.ratio > 1.1)
              .map((o) => o.method)
              .join(', ')} over)`
      } |`,
    );
  }
  const vrm = d.rows.filter((r) => r.loss === 'vrm' && r.B === 256 && r.C === 1000);
  if (vrm.length) {
    out.push(
      `| VRM, C = 1000, B = 256 (two views): fwd+bwd peak < 64 MiB | ${vrm.map((r) => `${r.backend} ${fmtBytes(r.backward.peakBytes)}`).join(', ')} | ${yes(vrm.every((r) => r.backward.peakBytes < MiB64))} |`,
    );
  }
  const cifarWasm = d.rows.filter(
    (r) => r.backend === 'wasm' && r.shape === 'cifar100' && r.torchBackwardRatio !== undefined,
  );
  if (cifarWasm.length) {
    const over = cifarWasm.filter((r) => r.torchBackwardRatio! > 2);
    out.push(
      `| Each loss within 2x of PyTorch CPU (${d.torch?.threads} thread${d.torch?.threads === 1 ? '' : 's'}) on the CIFAR-100-like shapes, WASM, fwd+bwd | ${cifarWasm.map((r) => `${r.loss} ${r.torchBackwardRatio!.toFixed(2)}x`).join(', ')} | ${over.length === 0 ? '**met**' : `**missed** by ${over.map((r) => r.loss).join(', ')}`} |`,
    );
  }
  const leaks =
    d.rows.reduce((a, r) => a + r.forward.leakedTensors + r.backward.leakedTensors, 0) +
    d.sweeps.reduce((a, s) => a + s.leakedTensors, 0);
  out.push(
    `| Zero leaked tensors (every case and sweep point) | ${leaks} leaked | ${yes(leaks === 0)} |`,
  );
  const varying = d.kernelConstancy.filter((k) => !k.constant);
  if (d.kernelConstancy.length) {
    out.push(
      `| Kernel count constant across B and C | ${varying.length === 0 ? 'constant for every loss and backend' : varying.map((k) => `${k.backend} ${k.loss}: ${k.kernels.join('/')}`).join('; ')} | ${yes(varying.length === 0)} |`,
    );
  }
  const bounded = streamingBound(d.streaming);
  if (bounded !== undefined) {
    out.push(
      `| Offline teacher outputs stream with bounded memory (issue #20): the reader holds at most \`cacheBytes\` + one shard, and the process grows by < 10% of the data set's growth | ${bounded.summary} | ${yes(bounded.met)} |`,
    );
  }
  out.push(
    '| No `dataSync`/`arraySync`/`.data()` in the loss packages | enforced by `packages/bench/src/noSync.test.ts` (vitest project `bench`) | see test |',
  );
  return ['| target | measured | |', '| --- | --- | --- |', ...out].join('\n');
}

/**
 * Whether streaming stayed bounded: at every point the reader's peak is within `cacheBytes` plus
 * one shard, and from the fewest to the most shards the live peak grew by less than 10% of the
 * decoded data set's growth. `undefined` without at least two points.
 */
export function streamingBound(
  rows: readonly StreamingRow[],
): { met: boolean; summary: string; growth: number } | undefined {
  if (rows.length < 2) return undefined;
  const sorted = [...rows].sort((a, b) => a.shards - b.shards);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const readerOk = sorted.every((r) => r.readerPeakBytes <= r.cacheBytes + r.shardBytes);
  const growth =
    (last.livePeakBytes - first.livePeakBytes) / (last.decodedBytes - first.decodedBytes);
  const summary = `${first.shards} → ${last.shards} shards (data set ${fmtBytes(first.decodedBytes)} → ${fmtBytes(last.decodedBytes)}, ${(last.decodedBytes / last.cacheBytes).toFixed(0)}× the cache): reader peak ${sorted.map((r) => fmtBytes(r.readerPeakBytes)).join(' / ')} (cache + one shard: ${fmtBytes(last.cacheBytes + last.shardBytes)}); live peak ${fmtBytes(first.livePeakBytes)} → ${fmtBytes(last.livePeakBytes)}, ${(100 * growth).toFixed(1)}% of the data set's growth`;
  return { met: readerOk && growth < 0.1, summary, growth };
}

/** The report's offline-teacher section: one row per shard count, and what it shows. */
export function streamingMarkdown(rows: readonly StreamingRow[]): string {
  if (rows.length === 0) return 'not measured in this run';
  const table = [
    '| shards | rows | on disk | decoded | cacheBytes | batches | shard reads | reader peak | live peak (after GC) | sampled peak (no forced GC) | s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.shards} | ${r.rows} | ${fmtBytes(r.diskBytes)} | ${fmtBytes(r.decodedBytes)} | ${fmtBytes(r.cacheBytes)} | ${r.batches} | ${r.shardReads} | ${fmtBytes(r.readerPeakBytes)} | ${fmtBytes(r.livePeakBytes)} | ${fmtBytes(r.sampledPeakBytes)} | ${fmt(r.seconds)} |`,
    ),
  ].join('\n');
  const bound = streamingBound(rows);
  return `${table}${bound === undefined ? '' : `\n\n${bound.met ? 'Bounded' : '**Not bounded**'}: ${bound.summary}.`}`;
}

/** The Markdown report (docs/benchmarks/performance.md). */
export function renderMarkdown(d: ReportData): string {
  const { meta } = d;
  const sweepTable = [
    '| backend | loss | axis | B | C | fwd+bwd ms (p10–p90) | peak | kernels | leaked |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...d.sweeps.map(
      (s) =>
        `| ${s.backend} | ${s.loss} | ${s.axis} | ${s.B} | ${s.C} | ${fmt(s.ms)} (${fmt(s.p10Ms)}–${fmt(s.p90Ms)}) | ${fmtBytes(s.peakBytes)} | ${s.kernels} | ${s.leakedTensors} |`,
    ),
  ].join('\n');
  const torchLine = d.torch
    ? `PyTorch peer: torch ${d.torch.version}, ${d.torch.threads} thread(s)${d.torch.date ? `, run ${d.torch.date}` : ''}${d.torch.loadavg ? ` (load average ${d.torch.loadavg.join(' / ')})` : ''} — \`/usr/bin/python3 tools/reference/bench_torch.py\`.`
    : 'PyTorch peer: no tools/reference/bench_torch.json (run `/usr/bin/python3 tools/reference/bench_torch.py`).';
  const overheadTable = d.overhead.length
    ? [
        '| backend | method | CE step ms (A) | with method ms (B) | B/A median (p10–p90) | B adds |',
        '| --- | --- | --- | --- | --- | --- |',
        ...d.overhead.map(
          (o) =>
            `| ${o.backend} | ${o.method} | ${fmt(o.baseMs)} | ${fmt(o.withMs)} | ${o.ratio.toFixed(3)} (${o.ratioP10.toFixed(2)}–${o.ratioP90.toFixed(2)}) | ${o.note} |`,
        ),
      ].join('\n')
    : 'not measured in this run';
  const vrm = d.rows.filter((r) => r.loss === 'vrm' && r.B === 256 && r.C === 1000);
  return `# Performance

Generated by \`npm run bench\` (packages/bench) on ${meta.date} in ${meta.minutes} min.${meta.quick ? ' **Quick mode (CI smoke): small shapes, few repeats.**' : ''}

- Machine: ${meta.machine}; Node ${meta.node}; tfjs-core ${meta.tfjs}; backends: ${meta.backends.join(', ')}
  (${Object.entries(meta.backendInfo)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('; ')}).
- **Load:** the machine is shared; load average (1/5/15 min) ${meta.loadStart.join(' / ')} at the start and
  ${meta.loadEnd.join(' / ')} at the end, on ${meta.machine.split(' x')[1]?.split(',')[0] ?? '?'} cores. Absolute times are
  inflated and noisy by roughly that factor; ratios measured back to back (A/B steps, tfjs vs torch
  on the same machine) are more robust than absolute times.
- ${torchLine}${meta.note ? `\n- ${meta.note}` : ''}

Times are the median over repeats after warm-up, with the 10th–90th percentile spread. Kernels and
peak bytes come from \`tf.profile\` of one call; "peak" is the largest number of bytes alive during the
call *above what was alive before it* (inputs excluded, outputs and gradients included). "Leaked" counts
tensors alive after a call and its disposal (must be 0).

${d.failures.length ? `**Failures in this run:**\n\n${d.failures.map((f) => `- ${f}`).join('\n')}\n\n` : ''}## Targets (issue #9)

${targets(d)}

${renderWholeSteps(d.wholeSteps ?? [], d.kernelProfiles ?? [], d.stepTorch ?? null)}
## Reference shapes

CIFAR-100-like: B = 64, C = 100, stage features of a resnet8x4-sized student NHWC
[B,32,32,64], [B,16,16,128], [B,8,8,256] (its resnet32x4 teacher has the same widths, so no adapter
is in the SCD case). ImageNet-like: B = 256, C = 1000, same stage feature shapes. What each case
calls (public API, default options):

| case | call | differentiated inputs |
| --- | --- | --- |
| kd | \`kdLoss(s, t)\` (T = 4) | s |
| vrm | \`vrmLoss({ student: { real, virtual }, teacher: { real, virtual } })\` (Gram path) | both student views |
| stkd | \`stkdLoss({ student, teacher, targets })\` (teacher on the mixed batch, λ = 0.7 targets) | s |
| icc | \`iccStudentLoss({ student, teacher, labels })\` (CE + KD + ICC) | s |
| scd | \`channelDistillationLoss(studentFeatures, teacherFeatures)\` (3 stages) | 3 feature maps |
| srd | \`stageResponseLoss(studentStageLogits, teacherStageLogits)\` (K = 3) | 3 stage logits |
| crd | \`crossStageReviewLoss(studentStageLogits)\` (K = 3, all previous) | 3 stage logits |
| mtkd | \`mtkdLoss({ studentFeatures, teacherFeatures, studentStageLogits, teacherStageLogits, labels })\` | 3 feature maps + 3 stage logits |
| corsd | \`corsdLoss({ stages, anchorLabels, negativeLabels })\` (K = 3 stages of scores and logits) | 12 score/logit tensors |

${markdownTable(d.rows, d.torch !== null)}

## VRM at ImageNet scale (C = 1000, B = 256, two views)

Target: forward + backward peak under 64 MiB on cpu/wasm (Gram path, no C·C·2B tensor; the direct
path's IC edge tensor alone would be C·C·2B·4 bytes = 1.9 GiB).

${vrm.length ? vrm.map((r) => `- ${r.backend}: fwd+bwd peak ${fmtBytes(r.backward.peakBytes)} (fwd ${fmtBytes(r.forward.peakBytes)}), ${fmt(r.backward.medianMs)} ms fwd+bwd, ${r.backward.kernels} kernels — ${r.backward.peakBytes < MiB64 ? 'meets' : 'misses'} the target`).join('\n') : '- not measured in this run'}

## Kernel count across B and C (must be constant)

${d.kernelConstancy.length ? ['| backend | loss | kernels per fwd+bwd call | constant |', '| --- | --- | --- | --- |', ...d.kernelConstancy.map((k) => `| ${k.backend} | ${k.loss} | ${k.constant ? k.kernels[0] : k.byPoint.join(', ')} | ${k.constant ? 'yes' : '**no**'} |`)].join('\n') : 'not measured in this run'}

## Scaling sweeps

Forward + backward per call; B sweep at C = 100, C sweep at B = 64 (feature losses: the resnet8x4
stage shapes at every B). Log-log axes: a slope of 1 is linear growth, 2 quadratic.

${d.charts.map((c) => `![${c}](${c})`).join('\n')}

${sweepTable}

## Overhead on a real training step

The loss terms alone (the whole steps are above). The MNIST example's 2-stage student (\`buildStudent(seed, '2stage')\` imported from examples/mnist/src/models.ts: conv 3x3x8 →
pool → conv 3x3x16 → pool → dense 10, 'same' padding), batch 64, \`tf.train.sgd\`:
\`optimizer.minimize\` with CE only (A) vs with each method's terms (B), same batch and backend, A and
B run back to back in alternating order, ${d.overhead[0]?.rounds ?? 25} rounds after 2 warm-up pairs; the ratio is the median of
the per-round B/A. Teacher outputs (logits, stage features) are precomputed constants: the teacher's
forward pass is common to all teacher-based methods and not a cost of the loss.
Target: logit-based terms (KD, STKD, ICC, VRM) add at most 10% on WASM.

${overheadTable}

## Offline teacher outputs: memory while streaming (issue #20)

\`@relkd/teacher-outputs\` reading synthetic \`.npy\` shards (per row: \`[10]\` logits and a
\`[4, 4, 8]\` stage feature, ${fmtBytes(552)} + the index decoded) as \`Distiller.fit\` does: \`check()\`
streams every shard once, then an epoch of \`gather\` calls of 64 rows in the shard-window order
\`sampler({ window: 1 })\`, with a cache of 2 shards, so each data set is several times larger than
the cache. "Reader peak": the reader's own most decoded shard bytes held at once (exact). "Live
peak": the process's \`heapUsed + external\` (external includes every ArrayBuffer) above its value
before the point, after a forced GC every 8 batches; "sampled peak": the same sampled after every
batch without forcing GC (garbage included, so it depends on when V8 collects). What still grows
with the row count is the reader's row → (shard, offset) map (8 bytes a row) and the epoch's
sample order.

${streamingMarkdown(d.streaming)}
${d.findings ? `\n${d.findings.trim()}\n` : ''}`;
}
