/**
 * relkd benchmark: `npm run bench [-- options]` from the repo root.
 *
 *   --quick              CI smoke: wasm only, small shapes, few repeats; writes to .cache/bench
 *   --backends=cpu,wasm  backends to measure (default: cpu,wasm, plus gpu when the adapter finds one)
 *   --losses=kd,vrm      subset of losses (default: all)
 *   --out=DIR            output folder (default docs/benchmarks; .cache/bench with --quick)
 *
 * Writes performance.json, performance.md and performance-sweeps.svg. Numbers only: no test here
 * asserts a time.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { describeBackend, useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { measure } from './measure';
import { type OverheadRow, trainingStepOverhead } from './overhead';
import { CASES } from './registry';
import { fmtBytes, markdownTable, type Row, svgChart } from './report';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const opt = (name: string): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

const quick = flag('quick');
const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const outDir = resolve(repoRoot, opt('out') ?? (quick ? '.cache/bench' : 'docs/benchmarks'));
const lossNames = (opt('losses')?.split(',') ?? Object.keys(CASES)).filter((n) => n in CASES);
const requested = opt('backends')?.split(',') ?? (quick ? ['wasm'] : ['cpu', 'wasm', 'gpu']);

const REFERENCE_SHAPES = quick
  ? [{ shape: 'cifar100', B: 64, C: 100 }]
  : [
      { shape: 'cifar100', B: 64, C: 100 },
      { shape: 'imagenet', B: 256, C: 1000 },
    ];
const SWEEP_B = quick ? [32, 64] : [32, 64, 128, 256, 512];
const SWEEP_C = quick ? [10, 100] : [10, 100, 1000];
const SWEEP_LOSSES = ['kd', 'vrm', 'stkd', 'icc', 'crd', 'corsd'].filter((n) =>
  lossNames.includes(n),
);
const REPEATS = quick
  ? { warmup: 1, repeats: 3, maxMs: 1500 }
  : { warmup: 3, repeats: 15, maxMs: 6000 };

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const rows: Row[] = [];
  const sweeps: Array<{
    backend: string;
    loss: string;
    axis: 'B' | 'C';
    value: number;
    ms: number;
    peakBytes: number;
    kernels: number;
  }> = [];
  const overhead: OverheadRow[] = [];
  const backendsRun: string[] = [];
  for (const name of requested) {
    let info: unknown;
    try {
      info = await useBackend(name as 'cpu');
    } catch (e) {
      log(`skip backend ${name}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const label = name === 'gpu' ? `gpu (${tf.getBackend()})` : tf.getBackend();
    backendsRun.push(label);
    log(`backend ${label}: ${JSON.stringify(info)}`);
    for (const ref of REFERENCE_SHAPES) {
      for (const loss of lossNames) {
        const c = CASES[loss]!(ref.B, ref.C, ref.shape);
        try {
          const forward = await measure(c.forward, REPEATS);
          const backward = await measure(c.backward, REPEATS);
          rows.push({
            backend: label,
            loss,
            shape: `${ref.shape} (B=${ref.B}, C=${ref.C})`,
            B: ref.B,
            C: ref.C,
            forward,
            backward,
          });
          log(
            `  ${loss} ${ref.shape}: fwd ${forward.medianMs.toFixed(2)} ms, fwd+bwd ${backward.medianMs.toFixed(2)} ms, peak ${fmtBytes(backward.peakBytes)}, kernels ${forward.kernels}/${backward.kernels}`,
          );
        } finally {
          c.dispose();
        }
      }
    }
    for (const loss of SWEEP_LOSSES) {
      for (const [axis, values] of [
        ['B', SWEEP_B],
        ['C', SWEEP_C],
      ] as const) {
        for (const value of values) {
          const B = axis === 'B' ? value : 64;
          const C = axis === 'C' ? value : 100;
          const c = CASES[loss]!(B, C, `sweep`);
          try {
            const m = await measure(c.backward, {
              ...REPEATS,
              repeats: Math.min(REPEATS.repeats, 7),
            });
            sweeps.push({
              backend: label,
              loss,
              axis,
              value,
              ms: m.medianMs,
              peakBytes: m.peakBytes,
              kernels: m.kernels,
            });
          } finally {
            c.dispose();
          }
        }
      }
      log(`  sweep ${loss} done`);
    }
    overhead.push(...(await trainingStepOverhead(label, quick)));
  }

  const torchFile = join(repoRoot, 'tools', 'reference', 'bench_torch.json');
  const torch = existsSync(torchFile)
    ? (JSON.parse(readFileSync(torchFile, 'utf8')) as {
        results: Array<{ loss: string; B: number; C: number; backwardMs: number }>;
        threads: number;
        version: string;
      })
    : null;
  if (torch) {
    for (const r of rows) {
      const t = torch.results.find((x) => x.loss === r.loss && x.B === r.B && x.C === r.C);
      if (t) r.torchRatio = r.backward.medianMs / t.backwardMs;
    }
  }

  const kernelConstancy = SWEEP_LOSSES.flatMap((loss) =>
    backendsRun.map((backend) => {
      const ks = new Set(
        sweeps.filter((s) => s.loss === loss && s.backend === backend).map((s) => s.kernels),
      );
      return { loss, backend, constant: ks.size === 1, kernels: [...ks] };
    }),
  );
  const meta = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    node: process.version,
    tfjs: tf.version_core,
    backends: backendsRun,
    describe: describeBackend(),
    quick,
  };
  writeFileSync(
    join(outDir, 'performance.json'),
    `${JSON.stringify({ meta, rows, sweeps, kernelConstancy, overhead, torch }, null, 1)}\n`,
  );
  const charts = (['B', 'C'] as const).map((axis) =>
    svgChart(
      `fwd+bwd time vs ${axis} (${backendsRun.at(-1) ?? ''})`,
      axis === 'B' ? 'batch size B (C = 100)' : 'classes C (B = 64)',
      'ms per call',
      SWEEP_LOSSES.map((loss) => ({
        name: loss,
        points: sweeps
          .filter((s) => s.loss === loss && s.axis === axis && s.backend === backendsRun.at(-1))
          .map((s) => [s.value, s.ms] as [number, number]),
      })),
    ),
  );
  writeFileSync(join(outDir, 'performance-sweep-B.svg'), charts[0]!);
  writeFileSync(join(outDir, 'performance-sweep-C.svg'), charts[1]!);
  writeFileSync(
    join(outDir, 'performance.md'),
    renderMarkdown(meta, rows, sweeps, kernelConstancy, overhead, torch !== null),
  );
  log(`wrote ${join(outDir, 'performance.md')}`);
}

function renderMarkdown(
  meta: Record<string, unknown>,
  rows: Row[],
  sweeps: Array<{
    backend: string;
    loss: string;
    axis: string;
    value: number;
    ms: number;
    peakBytes: number;
    kernels: number;
  }>,
  kernelConstancy: Array<{ loss: string; backend: string; constant: boolean; kernels: number[] }>,
  overhead: OverheadRow[],
  withTorch: boolean,
): string {
  const sweepTable = [
    '| backend | loss | axis | value | fwd+bwd ms | peak | kernels |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...sweeps.map(
      (s) =>
        `| ${s.backend} | ${s.loss} | ${s.axis} | ${s.value} | ${s.ms.toFixed(2)} | ${fmtBytes(s.peakBytes)} | ${s.kernels} |`,
    ),
  ].join('\n');
  const vrm = rows.filter((r) => r.loss === 'vrm' && r.B === 256 && r.C === 1000);
  return `# Performance

Generated by \`npm run bench\` (packages/bench) on ${meta.date}.
Machine: ${meta.machine}; Node ${meta.node}; tfjs-core ${meta.tfjs}; backends: ${(meta.backends as string[]).join(', ')}.${meta.quick ? ' **Quick mode (CI smoke): small shapes, few repeats.**' : ''}

Times are the median over repeats after warm-up, with the 10th–90th percentile spread; kernels and
peak bytes come from \`tf.profile\` of one call; "leaked" counts tensors alive after a call (must be 0).

## Reference shapes

${markdownTable(rows, withTorch)}

## VRM at ImageNet scale (C = 1000, B = 256, two views)

Target: forward + backward peak under 64 MiB on cpu/wasm (Gram path, no C·C·2B tensor).

${vrm.length ? vrm.map((r) => `- ${r.backend}: peak ${fmtBytes(r.backward.peakBytes)}, ${r.backward.medianMs.toFixed(1)} ms (${r.backward.peakBytes < 64 * 2 ** 20 ? 'meets' : 'misses'} the target)`).join('\n') : '- not measured in this run'}

## Kernel count across B and C (must be constant)

${kernelConstancy.map((k) => `- ${k.backend} ${k.loss}: ${k.constant ? `constant (${k.kernels[0]} kernels)` : `VARIES: ${k.kernels.join(', ')}`}`).join('\n')}

## Scaling sweeps

![fwd+bwd vs B](performance-sweep-B.svg) ![fwd+bwd vs C](performance-sweep-C.svg)

${sweepTable}

## Overhead on a real training step

The MNIST student's \`optimizer.minimize\` step with CE only vs with each method's terms (same batch,
same backend, interleaved A/B runs). Target: logit-based terms (KD, STKD, ICC, VRM) add at most 10% on WASM.

${overhead.length ? ['| backend | method | CE step ms | with term ms | ratio |', '| --- | --- | --- | --- | --- |', ...overhead.map((o) => `| ${o.backend} | ${o.method} | ${o.baseMs.toFixed(2)} | ${o.withMs.toFixed(2)} | ${o.ratio.toFixed(3)} |`)].join('\n') : 'not measured in this run'}
`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
