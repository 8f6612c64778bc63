/**
 * Scratch A/B (issue 19, CORSD's step): whole `Distiller.step`s on wasm of the CE, CORSD and
 * MTKD-SSR arms (the MNIST benchmark's arms, tuned configurations, 3-stage student, batch 64, the
 * Distiller's default optimizer), each method arm twice: with this branch's kernels and with main's
 * (`@main`: the `RelkdSelectRows` pair unregistered, so CORSD's pairs run the one-hot product and
 * its transposes, and the depthwise filter gradient's plain loop). Interleaved round-robin in one
 * process (the order rotated each round; kernels switched before each arm's steps); medians over
 * rounds of CPU time (`process.cpuUsage`, user + system) and wall time per step, ratios to CE.
 * `--profile`: kernel time by name and input shapes of 4 profiled steps per arm (method minus CE).
 *
 * Run: `npx tsx examples/mnist/scratch/corsdStepAB.ts [--rounds 15] [--steps 3] [--arms
 * ce,ce@main,corsd,corsd@main,mtkd,mtkd@main] [--profile ARM]`.
 */
import { useBackend } from '@relkd/backend';
import { Distiller } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv2dNativeBackpropFilterPlainKernel } from '../../../packages/backend/src/wasm/depthwiseConv2dNativeBackpropFilter';
import { armById, configFor } from '../src/arms';
import { loadMnist } from '../src/idx';
import { buildStudent, buildTeacher } from '../src/models';
import { loadTuned } from '../src/tuning';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const ROUNDS = Number(opt('rounds', '15'));
const STEPS = Number(opt('steps', '3'));
const ARMS = opt('arms', 'ce,ce@main,corsd,corsd@main,mtkd,mtkd@main').split(',');
const PROFILE = opt('profile', '');
const info = await useBackend('wasm');
console.log(`backend ${info.name} threads ${info.threads ?? '-'} simd ${info.simd ?? '-'}`);

const SELECT = ['RelkdSelectRows', 'RelkdSelectRowsGrad'];
const DW = 'DepthwiseConv2dNativeBackpropFilter';
const selectConfigs = SELECT.map((k) => tf.getKernel(k, 'wasm')!);
const dwBranch = tf.getKernel(DW, 'wasm')!;
const setMode = (mode: 'branch' | 'main') => {
  for (const k of SELECT) if (tf.getKernel(k, 'wasm') !== undefined) tf.unregisterKernel(k, 'wasm');
  tf.unregisterKernel(DW, 'wasm');
  if (mode === 'branch') {
    for (const c of selectConfigs) tf.registerKernel(c);
    tf.registerKernel(dwBranch);
  } else {
    tf.registerKernel({ ...dwBranch, kernelFunc: depthwiseConv2dNativeBackpropFilterPlainKernel });
  }
};
const med = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const { train } = loadMnist();
const B = 64;
const NB = 8;
const batches: Array<{ x: tf.Tensor4D; y: tf.Tensor1D }> = [];
const byClass: number[][] = Array.from({ length: 10 }, () => []);
for (let i = 0; i < 4000; i++) byClass[train.labels[i]!]!.push(i);
for (let b = 0; b < NB; b++) {
  const xs = new Float32Array(B * 784);
  const ys = new Int32Array(B);
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
let heads: tf.Tensor[] | undefined;
if (ARMS.some((a) => a.startsWith('mtkd'))) {
  const s = buildStudent(5);
  const r = methods.mtkd.recipe({
    teacher: teacher.model,
    student: s.model,
    stages: { teacher: teacher.stages, student: s.stages },
    numClasses: 10,
  });
  heads = r.teacherHeads!.getWeights();
  r.stageModules.dispose();
  r.dispose();
  s.model.dispose();
}
const runners = ARMS.map((id) => {
  const [armId, m] = id.split('@') as [string, string | undefined];
  const arm = armById(armId);
  const student = buildStudent(1000);
  const t = arm.teacher === undefined ? undefined : teacher;
  const parts = arm.build({
    student,
    teacher: t,
    numClasses: 10,
    config: configFor(arm, configs),
    seed: 1000,
    teacherHeadWeights: heads as never,
  });
  const d = new Distiller({ student: student.model, teacher: t?.model, seed: 1000, ...parts });
  const mode: 'branch' | 'main' = m === 'main' ? 'main' : 'branch';
  return { id, d, mode, wall: [] as number[], cpu: [] as number[] };
});
let k = 0;
const run = (r: (typeof runners)[number], n: number) => {
  setMode(r.mode);
  for (let s = 0; s < n; s++) {
    const bt = batches[k++ % NB]!;
    r.d.step(bt.x, bt.y);
  }
};
for (const r of runners) run(r, 4);
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < runners.length; j++) {
    const r = runners[(j + round) % runners.length]!;
    setMode(r.mode);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    run(r, STEPS);
    const w = performance.now() - w0;
    const c = process.cpuUsage(c0);
    r.wall.push(w / STEPS);
    r.cpu.push((c.user + c.system) / 1000 / STEPS);
  }
}
setMode('branch');
const ce = runners.find((r) => r.id === 'ce');
console.log(`\n${ROUNDS} rounds x ${STEPS} steps, batch ${B}, wasm`);
console.log('arm          cpu med  wall med   x CE (cpu)  x CE (wall)');
for (const r of runners) {
  const rc = ce ? (med(r.cpu) / med(ce.cpu)).toFixed(2) : '-';
  const rw = ce ? (med(r.wall) / med(ce.wall)).toFixed(2) : '-';
  console.log(
    `${r.id.padEnd(11)} ${med(r.cpu).toFixed(2).padStart(9)} ${med(r.wall).toFixed(2).padStart(9)} ${rc.padStart(12)} ${rw.padStart(12)}`,
  );
}
for (const r of runners) {
  const other = runners.find((q) => q.id === `${r.id}@main`);
  if (other)
    console.log(
      `${r.id}: main / branch per step: cpu ${(med(other.cpu) / med(r.cpu)).toFixed(3)}x, wall ${(med(other.wall) / med(r.wall)).toFixed(3)}x`,
    );
}

if (PROFILE !== '') {
  const PROFILED = 4;
  const profileOf = async (r: (typeof runners)[number]) => {
    const by: Record<string, { n: number; ms: number }> = {};
    setMode(r.mode);
    for (let s = 0; s < PROFILED; s++) {
      const bt = batches[k++ % NB]!;
      const p = await tf.profile(() => {
        r.d.step(bt.x, bt.y);
      });
      for (const kInfo of p.kernels) {
        if (kInfo.name.endsWith('__op') || kInfo.name.includes('scope')) continue;
        const key = `${kInfo.name} ${JSON.stringify(kInfo.inputShapes)}`;
        by[key] ??= { n: 0, ms: 0 };
        by[key]!.n += 1 / PROFILED;
        by[key]!.ms += Number(await kInfo.kernelTimeMs) / PROFILED;
      }
    }
    setMode('branch');
    return by;
  };
  const ceBy = ce ? await profileOf(ce) : {};
  const target = runners.find((r) => r.id === PROFILE)!;
  const by = await profileOf(target);
  const total = (b: Record<string, { n: number; ms: number }>) =>
    Object.values(b).reduce((t, e) => t + e.ms, 0);
  console.log(
    `\nkernel ms per step: CE ${total(ceBy).toFixed(2)}, ${PROFILE} ${total(by).toFixed(2)}`,
  );
  const byName: Record<string, { n: number; ms: number }> = {};
  for (const [key, e] of Object.entries(by)) {
    const name = key.split(' ')[0]!;
    byName[name] ??= { n: 0, ms: 0 };
    byName[name]!.n += e.n - (ceBy[key]?.n ?? 0);
    byName[name]!.ms += e.ms - (ceBy[key]?.ms ?? 0);
  }
  console.log('by kernel name (minus CE):');
  for (const [name, e] of Object.entries(byName)
    .sort((p, q) => q[1].ms - p[1].ms)
    .slice(0, 14))
    console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${e.n.toFixed(0).padStart(5)}x ${name}`);
  console.log('by kernel and shapes (minus CE):');
  const extra = Object.entries(by)
    .map(([key, e]) => ({ key, n: e.n - (ceBy[key]?.n ?? 0), ms: e.ms - (ceBy[key]?.ms ?? 0) }))
    .sort((p, q) => q.ms - p.ms)
    .slice(0, 24);
  for (const e of extra)
    console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${e.n.toFixed(0).padStart(4)}x ${e.key}`);
}
