/**
 * Scratch (issue 19): MTKD-SSR's loss alone (`mtkdLoss`: SCD + SRD + CRD + the stage heads' CE),
 * forward + backward to the student's stage features and stage logits, at the MNIST benchmark's
 * shapes (B 64, C 10; stages [14,14,16], [7,7,32], [4,4,64] after the adapters) with the tuned
 * options (T 4, weights 0.5 each) — kernels per call and CPU time, against the CE step's loss.
 *
 * Run: `npx tsx examples/mnist/scratch/mtkdLossShare.ts [--rounds 15]`.
 */
import { useBackend } from '@relkd/backend';
import { crossEntropy } from '@relkd/core';
import { mtkdLoss } from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 15;
await useBackend('wasm');
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const B = 64;
const C = 10;
const shapes: Array<[number, number, number, number]> = [
  [B, 14, 14, 16],
  [B, 7, 7, 32],
  [B, 4, 4, 64],
];
let seed = 1;
const sf = shapes.map((s) => tf.randomNormal(s, 0, 1, 'float32', seed++));
const tf_ = shapes.map((s) => tf.randomNormal(s, 0, 1, 'float32', seed++));
const sl = shapes.map(() => tf.randomNormal([B, C], 0, 3, 'float32', seed++));
const tl = shapes.map(() => tf.randomNormal([B, C], 0, 3, 'float32', seed++));
const y = tf.tensor1d(
  Array.from({ length: B }, (_, i) => i % C),
  'int32',
);
const cases = [
  {
    name: 'mtkdLoss (tuned: T 4, weights 0.5)',
    run: () =>
      tf.tidy(() => {
        const g = tf.grads(
          (...xs: tf.Tensor[]) =>
            mtkdLoss(
              {
                studentFeatures: xs.slice(0, 3),
                teacherFeatures: tf_,
                studentStageLogits: xs.slice(3),
                teacherStageLogits: tl,
                labels: y,
              },
              { temperature: 4, scdWeight: 0.5, srdWeight: 0.5, crdWeight: 0.5 },
            ).total,
        )([...sf, ...sl]);
        for (const t of g) t.dataSync();
      }),
  },
  {
    name: 'crossEntropy (the CE step loss)',
    run: () =>
      tf.tidy(() => {
        tf.grad((a: tf.Tensor) => crossEntropy(a as tf.Tensor2D, y))(sl[0]!).dataSync();
      }),
  },
];
for (const c of cases) {
  c.run();
  const p = await tf.profile(c.run);
  const n = p.kernels.filter((k) => !k.name.endsWith('__op') && !k.name.includes('scope')).length;
  console.log(`${c.name.padEnd(36)} ${String(n).padStart(5)} kernels`);
}
const times: number[][] = cases.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach((c, i) => {
    const t0 = process.cpuUsage();
    for (let k = 0; k < 5; k++) c.run();
    const u = process.cpuUsage(t0);
    times[i]!.push((u.user + u.system) / 1000 / 5);
  });
}
cases.forEach((c, i) => {
  console.log(`${c.name.padEnd(36)} cpu ${med(times[i]!).toFixed(3).padStart(8)} ms`);
});
