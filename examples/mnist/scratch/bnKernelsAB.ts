/**
 * Scratch (issue 19, helper M): @relkd/backend's wasm training-mode BatchNorm kernels
 * (`RelkdBatchNormTrain` / `RelkdBatchNormTrainGrad`) against @relkd/core's composed BatchNorm
 * (the kernels unregistered), interleaved A/B in one process:
 * 1. kernel level: MTKD-SSR's 9 stage-module BatchNorms at their shapes (batch 64), forward +
 *    backward (`tf.variableGrads` to x, gamma, beta), CPU and wall medians per pass and kernel
 *    counts (`tf.profile`);
 * 2. whole `Distiller.step` of the benchmark arms (`--arms ce,mtkd,corsd`), each arm once with and
 *    once without the kernels per round (order rotated), CPU (`process.cpuUsage`) and wall medians
 *    per step, and the median over rounds of the paired ratio composed / fused.
 * Run: `npx tsx examples/mnist/scratch/bnKernelsAB.ts [--rounds 15] [--steps 2] [--arms ce,mtkd,corsd]`.
 */
import { useBackend } from '@relkd/backend';
import { BatchNorm, FusedAdamOptimizer } from '@relkd/core';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@relkd/core/internal';
import { Distiller } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { armById, configFor } from '../src/arms';
import { loadMnist } from '../src/idx';
import { buildStudent, buildTeacher } from '../src/models';
import { loadTuned } from '../src/tuning';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? (args[i + 1] as string) : d;
};
const ROUNDS = Number(opt('rounds', '15'));
const STEPS = Number(opt('steps', '2'));
const ARMS = opt('arms', 'ce,mtkd,corsd').split(',');

await useBackend('wasm');
const NAMES = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD];
const fusedK = NAMES.map((n) => tf.getKernel(n, 'wasm') as tf.KernelConfig);
const use = (fused: boolean) => {
  for (const n of NAMES) if (tf.getKernel(n, 'wasm') !== undefined) tf.unregisterKernel(n, 'wasm');
  if (fused) for (const c of fusedK) tf.registerKernel(c);
};
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1] as number;
const timed = (f: () => void) => {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - w0 };
};

// 1. Kernel level: the 9 BatchNorms of MTKD-SSR's stage modules.
const SHAPES: number[][] = [
  [64, 14, 14, 16],
  [64, 7, 7, 32],
  [64, 7, 7, 16],
  [64, 7, 7, 8],
  [64, 4, 4, 64],
  [64, 4, 4, 64],
  [64, 4, 4, 32],
  [64, 4, 4, 32],
  [64, 4, 4, 16],
];
const bns = SHAPES.map((s) => new BatchNorm({ channels: s[3] as number }));
// Variables: the gradient to x is computed too, as in a step (the input is a convolution's output).
const xs = SHAPES.map((s) => tf.variable(tf.randomNormal(s)));
const rs = SHAPES.map((s) => tf.randomNormal(s));
const pass = () => {
  SHAPES.forEach((_, i) => {
    const bn = bns[i] as BatchNorm;
    const x = xs[i] as tf.Tensor;
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.mul(bn.apply(x, { training: true }), rs[i] as tf.Tensor)) as tf.Scalar,
      [x as tf.Variable, ...bn.trainableVariables],
    );
    tf.dispose([value, ...Object.values(grads)]);
  });
};
for (const fused of [false, true]) {
  use(fused);
  pass();
  const prof = await tf.profile(() => pass());
  console.log(`9 BatchNorms ${fused ? 'fused' : 'composed'}: ${prof.kernels.length} kernels`);
}
const kl: Record<'composed' | 'fused', { cpu: number[]; wall: number[] }> = {
  composed: { cpu: [], wall: [] },
  fused: { cpu: [], wall: [] },
};
for (let r = 0; r < 41; r++) {
  for (const fused of r % 2 ? [true, false] : [false, true]) {
    use(fused);
    const t = timed(pass);
    const side = kl[fused ? 'fused' : 'composed'];
    side.cpu.push(t.cpu);
    side.wall.push(t.wall);
  }
}
console.log(
  `9 BatchNorms fwd+bwd, CPU ms (wall): composed ${med(kl.composed.cpu).toFixed(2)} (${med(kl.composed.wall).toFixed(2)}), fused ${med(kl.fused.cpu).toFixed(2)} (${med(kl.fused.wall).toFixed(2)})`,
);
tf.dispose([...xs, ...rs]);
for (const bn of bns) bn.dispose();

// 2. Whole steps.
const { train } = loadMnist();
const B = 64;
const NB = 8;
const batches: Array<{ x: tf.Tensor4D; y: tf.Tensor1D }> = [];
for (let b = 0; b < NB; b++) {
  const xv = new Float32Array(B * 784);
  const ys = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    // Cycled classes (CORSD's triplets find partners): the first image of each class, shifted.
    ys[i] = i % 10;
    let idx = 0;
    let seen = 0;
    for (; idx < 4000; idx++)
      if (train.labels[idx] === i % 10 && seen++ === b * 7 + (i >> 4)) break;
    for (let p = 0; p < 784; p++) xv[i * 784 + p] = (train.images[idx * 784 + p] as number) / 255;
  }
  batches.push({ x: tf.tensor4d(xv, [B, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') });
}
const { configs } = loadTuned();
const teacher = buildTeacher(1);
let headWeights: tf.Tensor[] | undefined;
if (ARMS.includes('mtkd')) {
  const s = buildStudent(5);
  const r = methods.mtkd.recipe({
    teacher: teacher.model,
    student: s.model,
    stages: { teacher: teacher.stages, student: s.stages },
    numClasses: 10,
  });
  headWeights = r.teacherHeads?.getWeights();
  r.stageModules.dispose();
  r.dispose();
  s.model.dispose();
}
interface Runner {
  id: string;
  fused: boolean;
  step: (b: number) => void;
  cpu: number[];
  wall: number[];
}
const runners: Runner[] = ARMS.flatMap((armId) =>
  [false, true].map((fused) => {
    const arm = armById(armId);
    const student = buildStudent(1000);
    const parts = arm.build({
      student,
      teacher: arm.teacher === undefined ? undefined : teacher,
      numClasses: 10,
      config: configFor(arm, configs),
      seed: 1000,
      teacherHeadWeights: headWeights as never,
    });
    const d = new Distiller({
      student: student.model,
      teacher: arm.teacher === undefined ? undefined : teacher.model,
      optimizer: new FusedAdamOptimizer(1e-3),
      seed: 1000,
      ...parts,
    });
    const step = (b: number) => {
      use(fused);
      const batch = batches[b] as { x: tf.Tensor4D; y: tf.Tensor1D };
      d.step(batch.x, batch.y);
    };
    return { id: armId, fused, step, cpu: [], wall: [] };
  }),
);
let k = 0;
for (const r of runners) for (let i = 0; i < 3; i++) r.step(k++ % NB);
const perRound: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  const cpuThis: Record<string, number> = {};
  for (let j = 0; j < runners.length; j++) {
    const r = runners[(j + round) % runners.length] as Runner;
    const t = timed(() => {
      for (let s = 0; s < STEPS; s++) r.step(k++ % NB);
    });
    r.cpu.push(t.cpu / STEPS);
    r.wall.push(t.wall / STEPS);
    cpuThis[`${r.id}${r.fused ? '' : '~composed'}`] = t.cpu;
  }
  for (const id of ARMS) {
    perRound[id] ??= [];
    (perRound[id] as number[]).push(
      (cpuThis[`${id}~composed`] as number) / (cpuThis[id] as number),
    );
  }
}
use(true);
const ceFused = runners.find((r) => r.id === 'ce' && r.fused);
for (const id of ARMS) {
  const a = runners.find((r) => r.id === id && !r.fused) as Runner;
  const b = runners.find((r) => r.id === id && r.fused) as Runner;
  const xce = ceFused ? ` x CE (CPU, fused) ${(med(b.cpu) / med(ceFused.cpu)).toFixed(2)}` : '';
  console.log(
    `${id}: CPU ms/step composed ${med(a.cpu).toFixed(1)} -> fused ${med(b.cpu).toFixed(1)}; wall ${med(a.wall).toFixed(1)} -> ${med(b.wall).toFixed(1)}; paired CPU ratio composed/fused ${med(perRound[id] as number[]).toFixed(3)}${xce}`,
  );
}
