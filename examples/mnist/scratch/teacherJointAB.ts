/**
 * Scratch A/B (issue 19): VRM runs the teacher (inference mode) on the real batch and on the
 * virtual view, two forward passes of 64 rows. One pass over their concatenation (128 rows,
 * split after) gives the same rows (inference mode treats rows independently); is it faster?
 * Interleaved in one process on wasm, the MNIST benchmark's 3-stage teacher, through `tap` as
 * the Distiller runs it. CPU medians.
 *
 * Run: `npx tsx examples/mnist/scratch/teacherJointAB.ts [--rounds 15]`.
 */
import { useBackend } from '@relkd/backend';
import { tap } from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import { buildTeacher } from '../src/models';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 15;
await useBackend('wasm');
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const teacher = buildTeacher(1);
const t = tap(teacher.model);
const x = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 1);
const v = tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 2);
const cases = [
  {
    name: 'two passes (64 + 64)',
    run: () =>
      tf.tidy(() => {
        const a = t(x, { training: false }).logits;
        const b = t(v, { training: false }).logits;
        return [a.dataSync(), b.dataSync()];
      }),
  },
  {
    name: 'one pass (128), split',
    run: () =>
      tf.tidy(() => {
        const both = t(tf.concat([x, v]), { training: false }).logits;
        const [a, b] = tf.split(both, 2);
        return [a!.dataSync(), b!.dataSync()];
      }),
  },
];
const [sep, joint] = cases.map((c) => c.run());
let d = 0;
for (let k = 0; k < 2; k++)
  for (let i = 0; i < sep![k]!.length; i++)
    d = Math.max(d, Math.abs(sep![k]![i]! - joint![k]![i]!));
console.log(`max |two - one| over the logits: ${d}`);
const times: number[][] = cases.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach((c, i) => {
    const t0 = process.cpuUsage();
    for (let k = 0; k < 3; k++) c.run();
    const u = process.cpuUsage(t0);
    times[i]!.push((u.user + u.system) / 1000 / 3);
  });
}
cases.forEach((c, i) => {
  console.log(`${c.name.padEnd(24)} cpu ${med(times[i]!).toFixed(2).padStart(8)} ms`);
});
