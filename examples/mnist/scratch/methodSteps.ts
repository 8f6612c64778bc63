/**
 * Scratch benchmark (issue 19, goal 3): each method's `Distiller.step` against the CE step on the
 * MNIST benchmark's student (3-stage, batch 64, Adam), with the tuned configurations of
 * `tuned.json` built by the benchmark's own arms. Interleaved round-robin in one process: every
 * round runs `STEPS` steps of each arm in turn; the medians over rounds of wall and CPU time
 * (`process.cpuUsage`, user + system) per step are reported, with the ratio to CE. Then one
 * `tf.profile`d step per arm: kernels by name, count and time, minus CE's (the method's extra).
 *
 * Run: `npx tsx examples/mnist/scratch/methodSteps.ts [--backend wasm] [--rounds 15] [--steps 3]
 * [--arms ce,kd,...] [--profile [--detail ARM [--by-count] [--sequence]]] [--json out.json]`. An arm `<id>@offline` (e.g. `kd@offline`) runs
 * with the teacher's outputs precomputed for the batch pool (the offline-teacher path).
 */
import { writeFileSync } from 'node:fs';
import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import { FusedAdamOptimizer } from '@relkd/core';
import { Distiller, type OfflineTeacherSource } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { armById, configFor } from '../src/arms';
import { loadMnist } from '../src/idx';
import { buildStudent, buildTeacher } from '../src/models';
import { loadTuned } from '../src/tuning';
import { sumKernel as mainSumKernel } from './mainSumKernel';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const backend = opt('backend', 'wasm') as 'wasm' | 'cpu';
const ROUNDS = Number(opt('rounds', '15'));
const STEPS = Number(opt('steps', '3'));
const ARMS = opt('arms', 'ce,kd,vrm,stkd,icc,mtkd,corsd').split(',');
const PROFILE = args.includes('--profile');
const JSON_OUT = opt('json', '');
// The benchmark trains with FusedAdamOptimizer (jobs.ts); `--adam tf` for tf.train.adam.
const TF_ADAM = opt('adam', 'fused') === 'tf';

const info = await useBackend(backend);
// `--upstream Mean,Transpose`: an arm `<id>~up` runs its steps with tfjs-backend-wasm's own kernels
// of those names (every other kernel as useBackend registers it; `Sum`: main's JavaScript `Sum`):
// main's kernels against this branch's, interleaved A/B in one process.
const UPSTREAM = opt('upstream', '')
  .split(',')
  .filter((n) => n !== '');
const oursK = UPSTREAM.map((n) => tf.getKernel(n, backend)!);
registerWasmGradientKernels({ faster: false });
// `Sum` on main was already a JavaScript pass (eight accumulators): the A side gets that one.
const upK = UPSTREAM.map((n) => {
  const k = tf.getKernel(n, backend)!;
  return n === 'Sum' ? { ...k, kernelFunc: mainSumKernel(k.kernelFunc) } : k;
});
registerWasmGradientKernels();
const useK = (cfgs: tf.KernelConfig[]) => {
  for (const c of cfgs) {
    tf.unregisterKernel(c.kernelName, backend);
    tf.registerKernel(c);
  }
};
console.log(`backend ${info.name} threads ${info.threads ?? '-'} simd ${info.simd ?? '-'}`);

// Real MNIST batches, labels cycled so every class has >= 6 rows (CORSD's triplets find partners).
const { train } = loadMnist();
const B = 64;
const NB = 8;
const batches: Array<{ x: tf.Tensor4D; y: tf.Tensor1D }> = [];
for (let b = 0; b < NB; b++) {
  const xs = new Float32Array(B * 784);
  const ys = new Int32Array(B);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < 4000; i++) byClass[train.labels[i]!]!.push(i);
  for (let i = 0; i < B; i++) {
    const c = i % 10;
    const list = byClass[c]!;
    const idx = list[(b * 7 + Math.floor(i / 10)) % list.length]!;
    ys[i] = c;
    for (let p = 0; p < 784; p++) xs[i * 784 + p] = train.images[idx * 784 + p]! / 255;
  }
  batches.push({ x: tf.tensor4d(xs, [B, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') });
}

const { configs } = loadTuned();
const teacher = buildTeacher(1);
const iccTeacher = buildTeacher(2, 'ti');

// MTKD-SSR's teacher stage heads: any fitted-shape weights (their values do not change the cost).
let headWeights: tf.Tensor[] | undefined;
if (ARMS.includes('mtkd')) {
  const s = buildStudent(5);
  const r = methods.mtkd.recipe({
    teacher: teacher.model,
    student: s.model,
    stages: { teacher: teacher.stages, student: s.stages },
    numClasses: 10,
  });
  headWeights = r.teacherHeads!.getWeights();
  r.stageModules.dispose();
  r.dispose();
  s.model.dispose();
}

interface Runner {
  id: string;
  d: Distiller;
  /** One step on pool batch `b` (offline-teacher arms pass the batch's rows). */
  step: (b: number) => unknown;
  wall: number[];
  cpu: number[];
}

/**
 * `<arm>@offline`: the arm with its teacher's outputs computed once for the pool's rows (row
 * `b·64 + i` is row i of pool batch b) and served by row: the Distiller's offline-teacher path,
 * i.e. the step without the per-step teacher forward.
 */
function offlineSource(t: tf.Tensor2D): OfflineTeacherSource {
  return {
    rowCount: t.shape[0],
    prepare: async () => {},
    gather: async (rows) => ({
      logits: tf.tidy(() => tf.gather(t, tf.tensor1d(Array.from(rows), 'int32'))),
      features: {},
    }),
  };
}
const poolRows = (b: number) => Array.from({ length: B }, (_, i) => b * B + i);

const runners: Runner[] = ARMS.map((id) => {
  const [armId, mode] = id.replace(/~up$/, '').split('@') as [string, string | undefined];
  const arm = armById(armId);
  const student = buildStudent(1000);
  const t = arm.teacher === undefined ? undefined : arm.teacher === 'icc' ? iccTeacher : teacher;
  const parts = arm.build({
    student,
    teacher: t,
    numClasses: 10,
    config: configFor(arm, configs),
    seed: 1000,
    teacherHeadWeights: headWeights as never,
  });
  const offline =
    mode === 'offline' && t !== undefined
      ? offlineSource(
          tf.tidy(
            () => tf.concat(batches.map((bt) => t.model.predict(bt.x) as tf.Tensor)) as tf.Tensor2D,
          ),
        )
      : undefined;
  const d = new Distiller({
    student: student.model,
    teacher: offline ?? t?.model,
    optimizer: TF_ADAM ? tf.train.adam(1e-3) : new FusedAdamOptimizer(1e-3),
    seed: 1000,
    ...parts,
  });
  const plain =
    offline === undefined
      ? (b: number) => d.step(batches[b]!.x, batches[b]!.y)
      : (b: number) => d.stepAsync(batches[b]!.x, batches[b]!.y, poolRows(b));
  const step = id.endsWith('~up')
    ? async (b: number) => {
        useK(upK);
        try {
          return await plain(b);
        } finally {
          useK(oursK);
        }
      }
    : plain;
  return { id, d, step, wall: [], cpu: [] };
});

let k = 0;
const next = () => k++ % NB;
for (const r of runners) for (let i = 0; i < 4; i++) await r.step(next());

const med = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const t0 = tf.memory().numTensors;
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round so no arm always follows the same one.
  for (let j = 0; j < runners.length; j++) {
    const r = runners[(j + round) % runners.length]!;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    for (let s = 0; s < STEPS; s++) await r.step(next());
    const w = (performance.now() - w0) / STEPS;
    const c = process.cpuUsage(c0);
    r.wall.push(w);
    r.cpu.push((c.user + c.system) / 1000 / STEPS);
  }
}
if (tf.memory().numTensors !== t0)
  console.log(`tensor count changed: ${t0} -> ${tf.memory().numTensors}`);

const ce = runners.find((r) => r.id === 'ce');
const ceWall = ce ? med(ce.wall) : Number.NaN;
const ceCpu = ce ? med(ce.cpu) : Number.NaN;
const rows = runners.map((r) => ({
  arm: r.id,
  wallMs: med(r.wall),
  wallMin: Math.min(...r.wall),
  cpuMs: med(r.cpu),
  wallRatio: med(r.wall) / ceWall,
  cpuRatio: med(r.cpu) / ceCpu,
}));
console.log(`\n${ROUNDS} rounds x ${STEPS} steps, batch ${B}, ${info.name}`);
console.log('arm     wall med  wall min   cpu med   x CE (wall)  x CE (cpu)');
for (const r of rows) {
  console.log(
    `${r.arm.padEnd(6)} ${r.wallMs.toFixed(2).padStart(9)} ${r.wallMin.toFixed(2).padStart(9)} ${r.cpuMs.toFixed(2).padStart(9)} ${r.wallRatio.toFixed(2).padStart(12)} ${r.cpuRatio.toFixed(2).padStart(11)}`,
  );
}

// `--log-attrs Sum,Mean`: one more step per arm with those kernels wrapped, tallying calls by
// input shapes and attributes (time per call with performance.now around the kernel).
const LOG_ATTRS = opt('log-attrs', '');
if (LOG_ATTRS !== '') {
  const names = LOG_ATTRS.split(',');
  const tally: Record<string, { n: number; ms: number }> = {};
  const saved = names.map((name) => tf.getKernel(name, backend)!);
  for (const cfg of saved) {
    tf.unregisterKernel(cfg.kernelName, backend);
    tf.registerKernel({
      ...cfg,
      kernelFunc: (a) => {
        const key = `${cfg.kernelName} ${JSON.stringify(Object.values(a.inputs).map((t) => t?.shape))} ${JSON.stringify(a.attrs)}`;
        const w0 = performance.now();
        const out = cfg.kernelFunc(a);
        tally[key] ??= { n: 0, ms: 0 };
        tally[key]!.n++;
        tally[key]!.ms += performance.now() - w0;
        return out;
      },
    });
  }
  for (const r of runners) {
    for (const key of Object.keys(tally)) delete tally[key];
    await r.step(next());
    console.log(`\n[${r.id}] ${LOG_ATTRS} calls in one step:`);
    for (const [key, e] of Object.entries(tally).sort((a, q) => q[1].ms - a[1].ms))
      console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${String(e.n).padStart(3)}x ${key}`);
  }
  for (const cfg of saved) {
    tf.unregisterKernel(cfg.kernelName, backend);
    tf.registerKernel(cfg);
  }
}

// `--kernel-share`: every registered kernel of the backend wrapped with a timer (outermost calls
// only: composite kernels call others), then STEPS steps per arm, interleaved over ROUNDS rounds:
// median per step of the wall time, of the summed kernel time and the kernel count. What is left
// (wall - kernels) is the engine: tape, scopes, tensor bookkeeping, the JS of ops and losses.
if (args.includes('--kernel-share')) {
  const configs = tf.getKernelsForBackend(backend);
  let depth = 0;
  let kMs = 0;
  let kN = 0;
  let byName: Record<string, { n: number; ms: number }> = {};
  const timed = (cfg: tf.KernelConfig): tf.KernelConfig => ({
    ...cfg,
    kernelFunc: (a) => {
      if (depth > 0) return cfg.kernelFunc(a);
      depth++;
      const w0 = performance.now();
      try {
        return cfg.kernelFunc(a);
      } finally {
        const ms = performance.now() - w0;
        kMs += ms;
        kN++;
        depth--;
        byName[cfg.kernelName] ??= { n: 0, ms: 0 };
        byName[cfg.kernelName]!.n++;
        byName[cfg.kernelName]!.ms += ms;
      }
    },
  });
  for (const cfg of configs) {
    tf.unregisterKernel(cfg.kernelName, backend);
    tf.registerKernel(timed(cfg));
  }
  // The `~up` arms swap these in and out: time both sides too.
  UPSTREAM.forEach((_, i) => {
    oursK[i] = timed(oursK[i]!);
    upK[i] = timed(upK[i]!);
  });
  const share: Record<string, { wall: number[]; kernel: number[]; n: number[] }> = {};
  const names: Record<string, Record<string, { n: number; ms: number }>> = {};
  // Per step, the time of the swapped kernels (and BatchMatMul, which transposes inside).
  const SWAP_NAMES = [...UPSTREAM, ...(UPSTREAM.includes('Transpose') ? ['BatchMatMul'] : [])];
  const swapMs: Record<string, Record<string, number[]>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < runners.length; j++) {
      const r = runners[(j + round) % runners.length]!;
      share[r.id] ??= { wall: [], kernel: [], n: [] };
      names[r.id] ??= {};
      byName = names[r.id]!;
      for (let s = 0; s < STEPS; s++) {
        kMs = 0;
        kN = 0;
        const before = Object.fromEntries(SWAP_NAMES.map((k) => [k, byName[k]?.ms ?? 0]));
        const w0 = performance.now();
        await r.step(next());
        share[r.id]!.wall.push(performance.now() - w0);
        share[r.id]!.kernel.push(kMs);
        share[r.id]!.n.push(kN);
        for (const k of SWAP_NAMES) {
          swapMs[r.id] ??= {};
          const perArm = swapMs[r.id]!;
          perArm[k] ??= [];
          perArm[k]!.push((byName[k]?.ms ?? 0) - (before[k] as number));
        }
      }
    }
  }
  console.log(
    '\nkernel share: wall ms, kernel ms, kernels per step (medians), engine = wall - kernels',
  );
  for (const [id, e] of Object.entries(share)) {
    const w = med(e.wall);
    const k = med(e.kernel);
    console.log(
      `${id.padEnd(8)} ${w.toFixed(2).padStart(8)} ${k.toFixed(2).padStart(8)} ${med(e.n).toFixed(0).padStart(6)}   engine ${(w - k).toFixed(2)} ms (${((100 * (w - k)) / w).toFixed(0)} %), ${((1000 * (w - k)) / med(e.n)).toFixed(1)} µs per kernel`,
    );
  }
  // Kernel ms per step by name, minus CE's (means over all steps).
  const total = ROUNDS * STEPS;
  for (const [id, by] of Object.entries(names)) {
    if (id === 'ce') continue;
    const base = names.ce ?? {};
    const rows = Object.entries(by)
      .map(([k, e]) => ({
        k,
        n: (e.n - (base[k]?.n ?? 0)) / total,
        ms: (e.ms - (base[k]?.ms ?? 0)) / total,
      }))
      .sort((a, q) => q.ms - a.ms)
      .slice(0, Number(opt('top', '14')));
    console.log(`\n[${id}] kernel ms per step over CE's, by name (mean): calls, ms`);
    for (const r of rows)
      console.log(
        `  ${r.k.padEnd(36)} ${r.n.toFixed(0).padStart(5)} ${r.ms.toFixed(2).padStart(7)}`,
      );
  }
  // With `--upstream`: the swapped kernels' time per step (medians; composite kernels' inner calls
  // count in their outer kernel: BatchMatMul's transposes) in `<id>~up` (main's) and `<id>` (ours).
  for (const id of Object.keys(swapMs)) {
    const up = swapMs[`${id}~up`];
    const by = swapMs[id]!;
    if (up === undefined) continue;
    const line = SWAP_NAMES.map(
      (k) => `${k} ${med(up[k] ?? [0]).toFixed(2)} -> ${med(by[k] ?? [0]).toFixed(2)}`,
    );
    const all = (m: Record<string, number[]>) =>
      med(
        (m[SWAP_NAMES[0]!] ?? []).map((_, i) =>
          SWAP_NAMES.reduce((acc, k) => acc + (m[k]?.[i] ?? 0), 0),
        ),
      );
    console.log(
      `swapped kernels, ms per step (median), main -> branch, ${id}: ${line.join(', ')}; together ${all(up).toFixed(2)} -> ${all(by).toFixed(2)}`,
    );
  }
  for (const cfg of configs) {
    tf.unregisterKernel(cfg.kernelName, backend);
    tf.registerKernel(cfg);
  }
}

// Paired A/B: for each `<id>~up` arm, the median over rounds of this round's `<id>` time over its
// `<id>~up` time (both measured in the same round, so slow drifts of the machine cancel).
for (const up of runners.filter((r) => r.id.endsWith('~up'))) {
  const b = runners.find((r) => r.id === up.id.replace(/~up$/, ''));
  if (b === undefined) continue;
  const cpuRatio = med(up.cpu.map((u, i) => u / (b.cpu[i] as number)));
  const wallRatio = med(up.wall.map((u, i) => u / (b.wall[i] as number)));
  console.log(
    `A/B ${b.id.padEnd(6)} main / branch, paired by round: CPU ${cpuRatio.toFixed(3)}x, wall ${wallRatio.toFixed(3)}x (CPU ms ${med(up.cpu).toFixed(2)} -> ${med(b.cpu).toFixed(2)})`,
  );
}

const profiles: Record<string, Record<string, { n: number; ms: number }>> = {};
if (PROFILE) {
  const PROFILE_STEPS = Number(opt('profile-steps', '3'));
  const details = opt('detail', '').split(',');
  for (const r of runners) {
    const by: Record<string, { n: number; ms: number }> = {};
    const inst: Record<string, { n: number; ms: number }> = {};
    for (let s = 0; s < PROFILE_STEPS; s++) {
      const b = next();
      const p = await tf.profile(async () => {
        await r.step(b);
      });
      if (details.includes(r.id) && args.includes('--sequence')) {
        p.kernels.forEach((kInfo, i) => {
          console.log(`    ${i} ${kInfo.name} ${JSON.stringify(kInfo.inputShapes)}`);
        });
      }
      for (const kInfo of p.kernels) {
        // Op scopes (`foo__op`, `unnamed scope`) nest kernels: count kernels only.
        if (kInfo.name.endsWith('__op') || kInfo.name.includes('scope')) continue;
        const ms = typeof kInfo.kernelTimeMs === 'number' ? kInfo.kernelTimeMs : 0;
        by[kInfo.name] ??= { n: 0, ms: 0 };
        const e = by[kInfo.name]!;
        e.n += 1 / PROFILE_STEPS;
        e.ms += ms / PROFILE_STEPS;
        if (details.includes(r.id)) {
          const key = `${kInfo.name} ${JSON.stringify(kInfo.inputShapes)}`;
          inst[key] ??= { n: 0, ms: 0 };
          const f = inst[key]!;
          f.n += 1 / PROFILE_STEPS;
          f.ms += ms / PROFILE_STEPS;
        }
      }
    }
    profiles[r.id] = by;
    if (details.includes(r.id)) {
      console.log(`\n[${r.id}] by kernel and input shapes (ms per step, calls per step):`);
      const byCount = args.includes('--by-count');
      for (const [key, e] of Object.entries(inst)
        .sort((a, q) => (byCount ? q[1].n - a[1].n : q[1].ms - a[1].ms))
        .slice(0, Number(opt('top', '40'))))
        console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${e.n.toFixed(0).padStart(4)}x ${key}`);
    }
  }
  const base = profiles.ce ?? {};
  for (const r of runners) {
    const by = profiles[r.id]!;
    const total = Object.values(by).reduce((a, e) => ({ n: a.n + e.n, ms: a.ms + e.ms }), {
      n: 0,
      ms: 0,
    });
    const extra = Object.entries(by)
      .map(([name, e]) => ({
        name,
        n: e.n - (base[name]?.n ?? 0),
        ms: e.ms - (base[name]?.ms ?? 0),
      }))
      .filter((e) => Math.abs(e.n) > 0.01 || Math.abs(e.ms) > 0.05)
      .sort((a, q) => q.ms - a.ms);
    const ex = extra.reduce((a, e) => ({ n: a.n + e.n, ms: a.ms + e.ms }), { n: 0, ms: 0 });
    console.log(
      `\n[${r.id}] kernels ${total.n}, kernel time ${total.ms.toFixed(2)} ms; extra over CE: ${ex.n} kernels, ${ex.ms.toFixed(2)} ms`,
    );
    if (r.id !== 'ce')
      for (const e of extra.slice(0, 16))
        console.log(
          `  ${e.name.padEnd(24)} ${e.n.toFixed(0).padStart(5)} ${e.ms.toFixed(2).padStart(8)} ms`,
        );
  }
}
// The optimizer's share: a fresh Adam's update of each arm's variables (zero gradients; the
// second call, once its slots exist), profiled alone. H's fused update targets exactly this.
const adamShare: Record<string, { vars: number; kernels: number; ms: number; wallMs: number }> = {};
for (const r of runners) {
  const vars = r.d.varList();
  const opt = tf.train.adam(1e-3);
  const grads = () => Object.fromEntries(vars.map((v) => [v.name, tf.zerosLike(v)]));
  const apply = () => {
    const g = grads();
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  };
  apply();
  const walls: number[] = [];
  for (let i = 0; i < 9; i++) {
    const w0 = performance.now();
    apply();
    walls.push(performance.now() - w0);
  }
  const p = await tf.profile(apply);
  const ks = p.kernels.filter((k) => !k.name.endsWith('__op') && !k.name.includes('scope'));
  adamShare[r.id] = {
    vars: vars.length,
    kernels: ks.length - vars.length, // minus the zerosLike of each gradient
    ms: ks.reduce((a, k) => a + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0),
    wallMs: med(walls),
  };
  opt.dispose();
}
console.log(
  '\nAdam update alone (fresh optimizer, zero gradients): variables, kernels, wall ms (median of 9)',
);
for (const [id, a] of Object.entries(adamShare))
  console.log(
    `${id.padEnd(6)} ${String(a.vars).padStart(5)} ${String(a.kernels).padStart(6)} ${a.wallMs.toFixed(2).padStart(8)}`,
  );
if (JSON_OUT !== '')
  writeFileSync(JSON_OUT, JSON.stringify({ backend: info, rows, profiles, adamShare }, null, 2));
for (const r of runners) r.d.dispose();
