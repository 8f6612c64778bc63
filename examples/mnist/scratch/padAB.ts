/**
 * Scratch A/B (issue 19): a padded 3×3 convolution's forward + backward as `tf.pad` then
 * `'valid'` (core's modules before) against tfjs's numeric `pad` (now), interleaved in one
 * process on wasm, at the shapes CORSD's relation networks and MTKD-SSR's adapters use.
 *
 * Run: `npx tsx examples/mnist/scratch/padAB.ts [--rounds 15]`.
 */
import { useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 15;
await useBackend('wasm');

const shapes: Array<{ x: [number, number, number, number]; stride: 1 | 2 }> = [
  { x: [128, 14, 14, 16], stride: 2 },
  { x: [128, 7, 7, 64], stride: 2 },
  { x: [128, 4, 4, 128], stride: 1 },
  { x: [64, 14, 14, 8], stride: 2 },
];
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const cases = shapes.flatMap(({ x: shape, stride }) => {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const w = tf.randomNormal([3, 3, shape[3], 1], 0, 1, 'float32', 2);
  const explicit = (a: tf.Tensor4D, f: tf.Tensor4D) =>
    tf.depthwiseConv2d(
      tf.pad(a, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      f,
      stride,
      'valid',
    );
  const numeric = (a: tf.Tensor4D, f: tf.Tensor4D) => tf.depthwiseConv2d(a, f, stride, 1);
  const run = (conv: typeof explicit) => () =>
    tf.tidy(() => {
      const g = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.square(conv(a as tf.Tensor4D, f as tf.Tensor4D))),
      )([x, w]);
      for (const t of g) t.dataSync();
    });
  const name = `${JSON.stringify(shape)} s${stride}`;
  return [
    { name: `${name} pad+valid`, run: run(explicit) },
    { name: `${name} pad=1    `, run: run(numeric) },
  ];
});
// Same values first.
for (const { x: shape, stride } of shapes) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, shape[3], 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const a = tf
    .depthwiseConv2d(
      tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]) as tf.Tensor4D,
      w,
      stride,
      'valid',
    )
    .dataSync();
  const b = tf.depthwiseConv2d(x, w, stride, 1).dataSync();
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  console.log(`${JSON.stringify(shape)} s${stride}: max |pad+valid - pad=1| = ${d}`);
}
for (const c of cases) for (let i = 0; i < 3; i++) c.run();
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
  console.log(`${c.name}  cpu ${med(times[i]!).toFixed(3).padStart(8)} ms`);
});
