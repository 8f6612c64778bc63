/**
 * relkd benchmark: `npm run bench [-- options]` from the repo root.
 *
 *   --quick               CI smoke: wasm only, small shapes, few repeats; writes to .cache/bench
 *   --backends=cpu,wasm   backends to measure (default: cpu,wasm, plus gpu when the adapter finds one)
 *   --backend webgpu      one backend (same as --backends=webgpu)
 *   --allow-software-adapter  let 'webgpu' run on a software adapter (SwiftShader: CPU speed,
 *                         labelled "software" in the report; for checking the route, not for speed)
 *   --losses=kd,vrm       subset of losses (default: all)
 *   --sweep-losses=kd,vrm losses of the B/C sweeps (default: all selected losses)
 *   --no-sweeps           skip the B/C sweeps
 *   --no-overhead         skip the training-step overhead
 *   --no-whole-steps      skip the whole training steps (each method's Distiller.step, issue #19)
 *   --whole-step-backends=wasm  backends of the whole steps (default: wasm; cpu works but takes ~20 s a step)
 *   --whole-step-rounds=N timed rounds of the whole steps (default 30; --quick: CE and KD, 3 rounds)
 *   --no-streaming        skip the offline-teacher section (memory while streaming teacher-output
 *                         shards at growing shard counts, issue #20; small data sets with --quick)
 *   --overhead-backends=wasm  backends of the training-step overhead (default: wasm, the target's)
 *   --sweep-backends=wasm     backends of the B/C sweeps (default: wasm; the cpu backend's
 *                             JavaScript kernels make the large points take minutes on a loaded machine)
 *   --out=DIR             output folder (default docs/benchmarks; .cache/bench with --quick)
 *   --render              no measuring: rebuild performance.md and the charts from DIR/performance.json
 *                         (picks up a new tools/reference/bench_torch.json / step_torch.json and
 *                         packages/bench/findings.md)
 *
 * Flags are parsed strictly (`node:util` parseArgs, see args.ts): an unknown flag or loss name is
 * an error. `--name=value` and `--name value` both work.
 *
 * Writes performance.json, performance.md and the sweep SVG charts. Numbers only: no test here
 * asserts a time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { describeBackend, useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { parseBenchArgs } from './args';
import { measure } from './measure';
import { type OverheadRow, trainingStepOverhead } from './overhead';
import { CASES } from './registry';
import {
  fmtBytes,
  type KernelConstancy,
  type Meta,
  type Row,
  readTorch,
  renderMarkdown,
  type SweepPoint,
  sweepCharts,
} from './report';
import { type StreamingRow, streamingMemory } from './streaming';
import {
  attachStepTorch,
  type KernelProfile,
  readStepTorch,
  type WholeStepRow,
  wholeSteps,
} from './wholeSteps';

const args = (() => {
  try {
    return parseBenchArgs(process.argv.slice(2), Object.keys(CASES));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(2);
  }
})();
const { quick } = args;
const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const outDir = resolve(repoRoot, args.out ?? (quick ? '.cache/bench' : 'docs/benchmarks'));
const lossNames = args.losses;
const requested = args.backends;

const REFERENCE_SHAPES = quick
  ? [{ shape: 'cifar100', B: 64, C: 100 }]
  : [
      { shape: 'cifar100', B: 64, C: 100 },
      { shape: 'imagenet', B: 256, C: 1000 },
    ];
const SWEEP_B = quick ? [32, 64] : [32, 64, 128, 256, 512];
const SWEEP_C = quick ? [10, 100] : [10, 100, 1000];
const SWEEP_LOSSES = args.sweepLosses;
const REPEATS = quick
  ? { warmup: 1, repeats: 3, maxMs: 1000 }
  : { warmup: 2, repeats: 15, maxMs: 5000 };
const SWEEP_REPEATS = quick
  ? { warmup: 1, repeats: 3, maxMs: 500 }
  : { warmup: 1, repeats: 5, maxMs: 2000 };
const OVERHEAD_BACKENDS = args.overheadBackends;
const SWEEP_BACKENDS = args.sweepBackends;

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg();
  mkdirSync(outDir, { recursive: true });
  const rows: Row[] = [];
  const sweeps: SweepPoint[] = [];
  const overhead: OverheadRow[] = [];
  const steps: WholeStepRow[] = [];
  const kernelProfiles: KernelProfile[] = [];
  let streaming: StreamingRow[] = [];
  const backendsRun: string[] = [];
  const backendInfo: Record<string, unknown> = {};
  const failures: string[] = [];
  for (const name of requested) {
    let info: unknown;
    try {
      info = await useBackend(name as 'cpu', { allowSoftwareAdapter: args.allowSoftwareAdapter });
    } catch (e) {
      log(`skip backend ${name}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    const adapter = (
      info as { adapter?: { software: boolean; vendor: string; architecture: string } }
    ).adapter;
    const label =
      adapter?.software === true
        ? `${tf.getBackend()} (software adapter: ${adapter.vendor} ${adapter.architecture})`
        : name === 'gpu'
          ? `gpu (${tf.getBackend()})`
          : tf.getBackend();
    backendsRun.push(label);
    backendInfo[label] = info;
    log(`backend ${label}: ${JSON.stringify(info)}`);
    for (const ref of REFERENCE_SHAPES) {
      for (const loss of lossNames) {
        let c: ReturnType<(typeof CASES)[string]>;
        try {
          c = CASES[loss]!(ref.B, ref.C, ref.shape);
        } catch (e) {
          log(`  ${loss} ${ref.shape}: FAILED to build inputs: ${(e as Error).message}`);
          failures.push(`${label} ${loss} ${ref.shape}: ${(e as Error).message}`);
          continue;
        }
        try {
          const forward = await measure(c.forward, REPEATS);
          const backward = await measure(c.backward, REPEATS);
          rows.push({
            backend: label,
            loss,
            shape: ref.shape,
            B: ref.B,
            C: ref.C,
            forward,
            backward,
          });
          log(
            `  ${loss} ${ref.shape}: fwd ${forward.medianMs.toFixed(2)} ms, fwd+bwd ${backward.medianMs.toFixed(2)} ms, peak ${fmtBytes(backward.peakBytes)}, kernels ${forward.kernels}/${backward.kernels}, leaked ${forward.leakedTensors + backward.leakedTensors}`,
          );
        } catch (e) {
          log(`  ${loss} ${ref.shape}: FAILED: ${(e as Error).message}`);
          failures.push(`${label} ${loss} ${ref.shape}: ${(e as Error).message}`);
        } finally {
          c.dispose();
        }
      }
    }
    for (const loss of SWEEP_BACKENDS.includes(name) ? SWEEP_LOSSES : []) {
      for (const [axis, values] of [
        ['B', SWEEP_B],
        ['C', SWEEP_C],
      ] as const) {
        for (const value of values) {
          const B = axis === 'B' ? value : 64;
          const C = axis === 'C' ? value : 100;
          let c: ReturnType<(typeof CASES)[string]> | null = null;
          try {
            c = CASES[loss]!(B, C, 'sweep');
            const m = await measure(c.backward, SWEEP_REPEATS);
            sweeps.push({
              backend: label,
              loss,
              axis,
              value,
              B,
              C,
              ms: m.medianMs,
              p10Ms: m.p10Ms,
              p90Ms: m.p90Ms,
              peakBytes: m.peakBytes,
              kernels: m.kernels,
              leakedTensors: m.leakedTensors,
            });
          } catch (e) {
            log(`  sweep ${loss} B=${B} C=${C}: FAILED: ${(e as Error).message}`);
            failures.push(`${label} sweep ${loss} B=${B} C=${C}: ${(e as Error).message}`);
          } finally {
            c?.dispose();
          }
        }
      }
      const ks = sweeps.filter((s) => s.loss === loss && s.backend === label).map((s) => s.kernels);
      log(`  sweep ${loss} done (kernels ${[...new Set(ks)].join(', ')})`);
    }
    if (args.overhead && OVERHEAD_BACKENDS.includes(name)) {
      try {
        overhead.push(...(await trainingStepOverhead(label, quick, log)));
      } catch (e) {
        log(`  training-step overhead FAILED: ${(e as Error).message}`);
        failures.push(`${label} training-step overhead: ${(e as Error).message}`);
      }
    }
    if (args.wholeSteps && args.wholeStepBackends.includes(name)) {
      try {
        const r = await wholeSteps(label, {
          quick,
          ...(args.wholeStepRounds === undefined ? {} : { rounds: args.wholeStepRounds }),
          log,
        });
        steps.push(...r.rows);
        kernelProfiles.push(...r.profiles);
      } catch (e) {
        log(`  whole steps FAILED: ${(e as Error).message}`);
        failures.push(`${label} whole steps: ${(e as Error).message}`);
      }
    }
  }

  if (args.streaming) {
    try {
      // The reader's memory, not a backend's: the cpu backend holds the small gathered batches.
      await useBackend('cpu');
      log('offline teacher outputs: memory while streaming');
      streaming = await streamingMemory(quick, log);
    } catch (e) {
      log(`  streaming memory FAILED: ${(e as Error).message}`);
      failures.push(`offline-teacher streaming memory: ${(e as Error).message}`);
    }
  }

  const meta: Meta = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    loadStart: loadStart.map((l) => Number(l.toFixed(2))),
    loadEnd: loadavg().map((l) => Number(l.toFixed(2))),
    minutes: Number(((Date.now() - started) / 60000).toFixed(1)),
    node: process.version,
    tfjs: tf.version_core,
    backends: backendsRun,
    backendInfo,
    describe: describeBackend(),
    quick,
  };
  writeOutputs({
    meta,
    failures,
    rows,
    sweeps,
    overhead,
    streaming,
    wholeSteps: steps,
    kernelProfiles,
  });
}

/** The measured data a report is made from (performance.json holds it, plus derived fields). */
interface RunData {
  meta: Meta;
  failures: string[];
  rows: Row[];
  sweeps: SweepPoint[];
  overhead: OverheadRow[];
  /** Each method's whole `Distiller.step` (absent in reports written before issue #19). */
  wholeSteps?: WholeStepRow[];
  kernelProfiles?: KernelProfile[];
  /** The offline-teacher streaming section (absent in reports written before it existed). */
  streaming: StreamingRow[];
}

/**
 * Writes performance.json, the SVG charts and performance.md from measured data: adds the
 * tfjs/torch ratios (tools/reference/bench_torch.json, when present), the kernel-constancy
 * verdicts and the hand-written findings (packages/bench/findings.md, when present).
 */
function writeOutputs({
  meta,
  failures,
  rows,
  sweeps,
  overhead,
  streaming,
  wholeSteps: steps = [],
  kernelProfiles = [],
}: RunData): void {
  const torch = readTorch(join(repoRoot, 'tools', 'reference', 'bench_torch.json'));
  const stepTorch = readStepTorch(join(repoRoot, 'tools', 'reference', 'step_torch.json'));
  attachStepTorch(steps, stepTorch);
  for (const r of rows) {
    delete r.torchBackwardRatio;
    delete r.torchForwardRatio;
    const t = torch?.results.find((x) => x.loss === r.loss && x.B === r.B && x.C === r.C);
    if (t) {
      r.torchBackwardRatio = r.backward.medianMs / t.backwardMs;
      r.torchForwardRatio = r.forward.medianMs / t.forwardMs;
    }
  }
  const sweepLosses = [...new Set(sweeps.map((s) => s.loss))];
  const kernelConstancy: KernelConstancy[] = sweepLosses.flatMap((loss) =>
    [...new Set(sweeps.map((s) => s.backend))].map((backend) => {
      const pts = sweeps.filter((s) => s.loss === loss && s.backend === backend);
      const ks = [...new Set(pts.map((s) => s.kernels))];
      return {
        loss,
        backend,
        constant: ks.length === 1,
        kernels: ks,
        byPoint: pts.map((s) => `${s.axis}=${s.value}: ${s.kernels}`),
      };
    }),
  );
  const jsonFile = join(outDir, 'performance.json');
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ meta, failures, rows, sweeps, kernelConstancy, overhead, streaming, wholeSteps: steps, kernelProfiles, torch, stepTorch }, null, 2)}\n`,
  );
  formatJson(jsonFile);
  const charts = sweepCharts(sweeps);
  for (const [file, svg] of charts) writeFileSync(join(outDir, file), svg);
  const findingsFile = resolve(import.meta.dirname, '..', 'findings.md');
  writeFileSync(
    join(outDir, 'performance.md'),
    renderMarkdown({
      meta,
      rows,
      sweeps,
      kernelConstancy,
      overhead,
      wholeSteps: steps,
      kernelProfiles,
      stepTorch,
      streaming,
      torch,
      failures,
      charts: charts.map(([f]) => f),
      findings: existsSync(findingsFile) ? readFileSync(findingsFile, 'utf8') : '',
    }),
  );
  log(`wrote ${join(outDir, 'performance.md')} (run of ${meta.date}, ${meta.minutes} min)`);
}

/** Formats a written JSON file with the repo's biome settings (so `npm run lint` stays clean). */
function formatJson(file: string): void {
  const biome = join(repoRoot, 'node_modules', '.bin', 'biome');
  if (!existsSync(biome)) return;
  try {
    execFileSync(biome, ['format', '--write', file], { cwd: repoRoot, stdio: 'ignore' });
  } catch {
    // biome skips git-ignored folders such as .cache (quick runs): nothing to keep clean there
  }
}

/** `--render`: rebuilds the report from outDir/performance.json without measuring. */
function render(): void {
  const data = JSON.parse(readFileSync(join(outDir, 'performance.json'), 'utf8')) as RunData;
  writeOutputs({ ...data, failures: data.failures ?? [], streaming: data.streaming ?? [] });
}

(args.render ? Promise.resolve().then(render) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
