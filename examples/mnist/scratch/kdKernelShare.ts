/**
 * Scratch benchmark (issue 19, goal 5): what share of a KD training step is kd's fused kernel
 * (`RelkdSoftmaxKl`, value and gradient in one host pass)? Times, interleaved in one process on
 * wasm: the kernel alone at B 64 with C 10 (MNIST) and C 100, the bare `Math.exp` calls it makes
 * (2·B·C), and the tuned KD arm's whole `Distiller.step` on the MNIST student. Medians over rounds.
 *
 * Run: `npx tsx examples/mnist/scratch/kdKernelShare.ts [--rounds 21]`.
 */
import { useBackend } from '@relkd/backend';
import { FUSED_SOFTMAX_KL } from '@relkd/core/internal';
import { Distiller } from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import { armById, configFor } from '../src/arms';
import { buildStudent, buildTeacher } from '../src/models';
import { loadTuned } from '../src/tuning';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 21;
await useBackend('wasm');

const B = 64;
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

function kernelCase(C: number) {
  const s = tf.randomNormal([B, C], 0, 3, 'float32', 1);
  const t = tf.randomNormal([B, C], 0, 3, 'float32', 2);
  return {
    name: `RelkdSoftmaxKl B${B} C${C}`,
    reps: 200,
    run: () => {
      const out = tf
        .engine()
        .runKernel(FUSED_SOFTMAX_KL, { s, t }, { temperature: 4, scale: 16 / B }) as tf.Tensor[];
      for (const o of out) o.dispose();
    },
  };
}

function expCase(C: number) {
  const xs = new Float64Array(2 * B * C).map((_, i) => Math.sin(i) * 3);
  let sink = 0;
  return {
    name: `Math.exp x ${2 * B * C} (2·B·C, C${C})`,
    reps: 200,
    run: () => {
      let a = 0;
      for (let i = 0; i < xs.length; i++) a += Math.exp(xs[i]!);
      sink += a;
      if (sink === -1) console.log(sink);
    },
  };
}

const { configs } = loadTuned();
const arm = armById('kd');
const student = buildStudent(1000);
const teacher = buildTeacher(1);
const d = new Distiller({
  student: student.model,
  teacher: teacher.model,
  optimizer: tf.train.adam(1e-3),
  seed: 1,
  ...arm.build({ student, teacher, numClasses: 10, config: configFor(arm, configs), seed: 1 }),
});
const x = tf.randomUniform([B, 28, 28, 1], 0, 1, 'float32', 3);
const y = tf.tensor1d(
  Array.from({ length: B }, (_, i) => i % 10),
  'int32',
);
const stepCase = {
  name: 'KD Distiller.step (MNIST student, C10)',
  reps: 3,
  run: () => d.step(x, y),
};

const cases = [kernelCase(10), kernelCase(100), expCase(10), expCase(100), stepCase];
for (const c of cases) for (let i = 0; i < 3; i++) c.run();
const times: number[][] = cases.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach((c, i) => {
    const t0 = performance.now();
    for (let k = 0; k < c.reps; k++) c.run();
    times[i]!.push((performance.now() - t0) / c.reps);
  });
}
const stepMs = med(times[4]!);
cases.forEach((c, i) => {
  const m = med(times[i]!);
  console.log(
    `${c.name.padEnd(42)} ${m.toFixed(4).padStart(10)} ms  (${((100 * m) / stepMs).toFixed(3)} % of the KD step)`,
  );
});
d.dispose();
