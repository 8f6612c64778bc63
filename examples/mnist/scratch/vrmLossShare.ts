/**
 * Scratch (issue 19): VRM's loss alone, forward + backward to the student's logits, at the MNIST
 * benchmark's shapes (B 64, C 10) and tuned options (UEP jointEntropy 0.1), against the CE step's
 * loss (`crossEntropy`) — kernels per call (`tf.profile`) and CPU time (medians, interleaved).
 *
 * Run: `npx tsx examples/mnist/scratch/vrmLossShare.ts [--rounds 15]`.
 */
import { vrmLoss } from '@relkd/affinity-graph';
import { useBackend } from '@relkd/backend';
import { crossEntropy } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 15;
await useBackend('wasm');
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const B = 64;
const C = 10;
const ss = tf.randomNormal([B, C], 0, 3, 'float32', 1);
const sv = tf.randomNormal([B, C], 0, 3, 'float32', 2);
const ts = tf.randomNormal([B, C], 0, 3, 'float32', 3);
const tv = tf.randomNormal([B, C], 0, 3, 'float32', 4);
const y = tf.tensor1d(
  Array.from({ length: B }, (_, i) => i % C),
  'int32',
);
const options = [
  ['vrm (uep jointEntropy 0.1, tuned)', { uep: { kind: 'jointEntropy' as const, ratio: 0.1 } }],
  ['vrm (uep none: fused Gram path)', { uep: { kind: 'none' as const } }],
] as const;
const cases = [
  ...options.map(([name, o]) => ({
    name,
    run: () =>
      tf.tidy(() => {
        const g = tf.grads(
          (a: tf.Tensor, b: tf.Tensor) =>
            vrmLoss({ student: { real: a, virtual: b }, teacher: { real: ts, virtual: tv } }, o)
              .total,
        )([ss, sv]);
        for (const t of g) t.dataSync();
      }),
  })),
  {
    name: 'crossEntropy (the CE step loss)',
    run: () =>
      tf.tidy(() => {
        tf.grad((a: tf.Tensor) => crossEntropy(a as tf.Tensor2D, y))(ss).dataSync();
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
