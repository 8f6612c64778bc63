/**
 * The "whole steps" section of `npm run bench` (issue #19): each method's full `Distiller.step`
 * on the MNIST benchmark's student with its tuned recipe (wholeStepSetup.ts), interleaved
 * round-robin on one backend, with the ratio over the CE step, the targets, the ratio
 * over the PyTorch peer (tools/reference/step_torch.json) and a per-kernel profile.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { buildWholeStep, type StepVariant, stepVariants, type WholeStep } from './wholeStepSetup';

/**
 * The targets for a method's step over the CE step (same student): VRM ≤ 2.2x, MTKD-SSR
 * and CORSD ≤ 1.5x, KD, STKD and ICC ≤ 1.2x.
 */
export const STEP_TARGETS: Readonly<Record<string, number>> = Object.freeze({
  vrm: 2.2,
  mtkd: 1.5,
  corsd: 1.5,
  kd: 1.2,
  stkd: 1.2,
  icc: 1.2,
});

/** One method's whole training step on one backend. */
export interface WholeStepRow {
  backend: string;
  /** `'kd'` (3-stage student) or `'kd@2stage'`. */
  id: string;
  method: string;
  arch: string;
  /** Step times in ms over the timed rounds (after warm-up). */
  minMs: number;
  p10Ms: number;
  medianMs: number;
  p90Ms: number;
  steps: number;
  /** Median, p10 and p90 of the per-round ratio this step / the CE step of the same arch. */
  overCe: { median: number; p10: number; p90: number };
  /** The target for `overCe.median` (absent for CE and the 2-stage rows). */
  target?: number;
  /** Trainable parameters of each model and module of the step (`student`, `teacher`, …). */
  params: Record<string, number>;
  /** Against the PyTorch peer's same step (when tools/reference/step_torch.json has it). */
  torch?: {
    minMs: number;
    medianMs: number;
    overMin: number;
    overMedian: number;
    /** The peer's own step over its own CE step (median of its per-round ratios). */
    overCe?: number;
  };
}

/**
 * Sets (or clears) each row's `torch` field from the PyTorch peer's results: the tfjs/torch
 * ratios of the minimum and of the median step time (the peer is bimodal on a loaded machine).
 */
export function attachStepTorch(rows: WholeStepRow[], torch: StepTorchResults | null): void {
  for (const row of rows) {
    delete row.torch;
    const t = torch?.results.find((p) => p.method === row.method && p.arch === row.arch);
    if (t !== undefined) {
      row.torch = {
        minMs: t.minMs,
        medianMs: t.medianMs,
        overMin: row.minMs / t.minMs,
        overMedian: row.medianMs / t.medianMs,
        ...(t.overCe === undefined ? {} : { overCe: t.overCe.median }),
      };
    }
  }
}

/** Reads tools/reference/step_torch.json when present. */
export function readStepTorch(file: string): StepTorchResults | null {
  if (!existsSync(file)) return null;
  const t = JSON.parse(readFileSync(file, 'utf8')) as StepTorchResults;
  return Array.isArray(t.results) ? t : null;
}

/** Time per kernel name of one profiled step (`tf.profile`), largest first. */
export interface KernelProfile {
  backend: string;
  id: string;
  /** Profiled steps the numbers are medians of. */
  runs: number;
  /** Median wall time of a profiled step (profiling itself adds some). */
  wallMs: number;
  /**
   * Sum of the kernels' times (scopes such as `customGrad` wrappers left out: their kernels are
   * counted); `wallMs − kernelMs` is JavaScript, dispatch and bookkeeping.
   */
  kernelMs: number;
  /** Kernel calls per step (median per kernel name, summed). */
  kernels: number;
  top: Array<{ name: string; ms: number; count: number; share: number }>;
}

/** tools/reference/step_torch.json (the fields the report reads). */
export interface StepTorchResults {
  version: string;
  threads: number;
  date?: string;
  loadavg?: number[];
  uptime?: string;
  blas?: Record<string, string>;
  batch?: number;
  results: Array<{
    method: string;
    arch: string;
    minMs: number;
    medianMs: number;
    p90Ms?: number;
    overCe?: { median: number; ofMin: number };
    params?: Record<string, number>;
  }>;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;

/** A fixed MNIST-sized batch: images in [0, 1] (NHWC), every class present (CORSD's triplets). */
function batch(size: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return tf.tidy(() => {
    const x = tf.sigmoid(tf.randomNormal([size, 28, 28, 1], -1, 2, 'float32', 11)) as tf.Tensor4D;
    const labels = Array.from({ length: size }, (_, i) => (i * 7) % 10);
    return { x, y: tf.tensor1d(labels, 'int32') };
  });
}

/**
 * Kernel time by name over several profiled steps: per name, the median over the steps of its
 * summed time (a kernel call descheduled on a loaded machine inflates one step, not the median),
 * largest first. `tf.profile` also records scopes (`customGrad` wrappers: `fusedConv2d__op`,
 * `unnamed scope`, …) whose time is that of the kernels they run, which are recorded too: only
 * records for which `isKernel(name)` holds (a kernel registered for the backend) are summed, so
 * nothing is counted twice.
 */
export function kernelSummary(
  runs: ReadonlyArray<ReadonlyArray<{ name: string; kernelTimeMs: unknown }>>,
  topN: number,
  isKernel: (name: string) => boolean,
): Pick<KernelProfile, 'kernelMs' | 'kernels' | 'top'> {
  const perRun = runs.map((records) => {
    const byName = new Map<string, { ms: number; count: number }>();
    for (const k of records) {
      if (!isKernel(k.name)) continue;
      const e = byName.get(k.name) ?? { ms: 0, count: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.count++;
      byName.set(k.name, e);
    }
    return byName;
  });
  const names = [...new Set(perRun.flatMap((m) => [...m.keys()]))];
  const median = (v: number[]) =>
    quantile(
      [...v].sort((a, b) => a - b),
      0.5,
    );
  const rows = names.map((name) => ({
    name,
    ms: median(perRun.map((m) => m.get(name)?.ms ?? 0)),
    count: median(perRun.map((m) => m.get(name)?.count ?? 0)),
  }));
  const kernelMs = rows.reduce((a, r) => a + r.ms, 0);
  const kernels = rows.reduce((a, r) => a + r.count, 0);
  const top = rows
    .map((r) => ({ ...r, share: kernelMs > 0 ? r.ms / kernelMs : 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, topN);
  return { kernelMs, kernels, top };
}

/** Kernel time by name over `runs` profiled steps of `step` (wall time: their median). */
async function profileStep(
  backend: string,
  step: WholeStep,
  x: tf.Tensor,
  y: tf.Tensor,
  topN: number,
  runs: number,
): Promise<KernelProfile> {
  const records: Array<Array<{ name: string; kernelTimeMs: unknown }>> = [];
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const info = await tf.profile(() => {
      step.distiller.step(x, y);
      return undefined as unknown as tf.Tensor;
    });
    walls.push(performance.now() - t0);
    records.push(info.kernels);
  }
  const backendName = tf.getBackend();
  const isKernel = (name: string) => tf.getKernel(name, backendName) !== undefined;
  const wallMs = quantile(
    [...walls].sort((a, b) => a - b),
    0.5,
  );
  return { backend, id: step.id, wallMs, runs, ...kernelSummary(records, topN, isKernel) };
}

/**
 * Times every variant's whole step on the active backend: `warmup` steps each, then `rounds`
 * rounds of one step per variant (the order rotates every round, so a slow phase of a loaded
 * machine hits every method alike). Then three `tf.profile`d steps (one with `quick`) per variant
 * in `profileIds`, summarised by {@link kernelSummary}.
 * `quick`: CE and KD on the 3-stage student, 1 warm-up step, 3 rounds (the CI smoke).
 */
export async function wholeSteps(
  backend: string,
  options: {
    quick: boolean;
    rounds?: number;
    warmup?: number;
    batchSize?: number;
    profileIds?: readonly string[];
    log?: (msg: string) => void;
  },
): Promise<{ rows: WholeStepRow[]; profiles: KernelProfile[] }> {
  const { quick, log = () => {}, batchSize = 64 } = options;
  const rounds = options.rounds ?? (quick ? 3 : 30);
  const warmup = options.warmup ?? (quick ? 1 : 3);
  const variants: StepVariant[] = quick
    ? stepVariants().filter((v) => v.arch === '3stage' && (v.method === 'ce' || v.method === 'kd'))
    : stepVariants();
  const profileIds =
    options.profileIds ??
    (quick ? ['ce', 'kd'] : ['ce', 'kd', 'ce@2stage', 'kd@2stage', 'vrm', 'mtkd', 'corsd']);
  const { x, y } = batch(batchSize);
  const steps = variants.map((v) => buildWholeStep(v));
  try {
    // warm-up also creates the optimizers' slot variables (counted before the leak check)
    for (const s of steps) for (let i = 0; i < Math.max(1, warmup); i++) s.distiller.step(x, y);
    const before = tf.memory().numTensors;
    const times: number[][] = steps.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < steps.length; j++) {
        const i = (j + r) % steps.length;
        const t0 = performance.now();
        steps[i]!.distiller.step(x, y);
        times[i]!.push(performance.now() - t0);
      }
    }
    const rows = steps.map((s, i): WholeStepRow => {
      const ceIndex = steps.findIndex(
        (c) => c.variant.method === 'ce' && c.variant.arch === s.variant.arch,
      );
      const ratios = times[i]!.map((t, r) => t / times[ceIndex]![r]!).sort((a, b) => a - b);
      const sorted = [...times[i]!].sort((a, b) => a - b);
      const row: WholeStepRow = {
        backend,
        id: s.id,
        method: s.variant.method,
        arch: s.variant.arch,
        minMs: sorted[0]!,
        p10Ms: quantile(sorted, 0.1),
        medianMs: quantile(sorted, 0.5),
        p90Ms: quantile(sorted, 0.9),
        steps: sorted.length,
        overCe: {
          median: quantile(ratios, 0.5),
          p10: quantile(ratios, 0.1),
          p90: quantile(ratios, 0.9),
        },
        params: Object.fromEntries(
          Object.entries(s.weights).map(([k, w]) => [k, w.trainableParams]),
        ),
      };
      const target = s.variant.arch === '3stage' ? STEP_TARGETS[s.variant.method] : undefined;
      if (target !== undefined) row.target = target;
      log(
        `  whole step ${s.id.padEnd(10)} median ${row.medianMs.toFixed(2)} ms (min ${row.minMs.toFixed(2)}), x${row.overCe.median.toFixed(2)} of CE`,
      );
      return row;
    });
    const profiles: KernelProfile[] = [];
    for (const s of steps.filter((st) => profileIds.includes(st.id))) {
      profiles.push(await profileStep(backend, s, x, y, 12, quick ? 1 : 3));
    }
    const leaked = tf.memory().numTensors - before;
    if (leaked !== 0) log(`  WARNING: whole steps left ${leaked} tensors alive`);
    return { rows, profiles };
  } finally {
    for (const s of steps) s.dispose();
    tf.dispose([x, y]);
  }
}
