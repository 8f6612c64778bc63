/**
 * Scratch A/B (issue 19): CORSD's joint pair batch `[2B, H, W, 2C]` (positive pairs, then
 * negative pairs; anchor channels first) built three ways, forward + backward to the features,
 * interleaved in one process on wasm at the MNIST student's stage shapes:
 * - `old`: `gatherPairs` (one-hot matMul of [3B, N], unstack, two channel concats) then the
 *   batch concat of `applyPairs({ jointBatch: true })`;
 * - `mm4`: one one-hot matMul of [a; a; p; n] ([4B, N]), reshape to [2, 2B, H·W, C], transpose to
 *   [2B, H·W, 2, C] (the channel concat as a layout change);
 * - `gather`: one `tf.gather` of [N·H·W, C] rows with [2B, H·W, 2] indices.
 *
 * Run: `npx tsx examples/mnist/scratch/pairsAB.ts [--rounds 15]`.
 */
import { useBackend } from '@relkd/backend';
import { gatherPairs, tripletIndices } from '@relkd/relation-network';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 15;
await useBackend('wasm');
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

const B = 64;
const labels = tf.tensor1d(
  Array.from({ length: B }, (_, i) => i % 10),
  'int32',
);
const t = tripletIndices(labels, { seed: 3, numClasses: 10 });

type Build = (f: tf.Tensor4D) => tf.Tensor4D;
const old: Build = (f) => {
  const p = gatherPairs(f, t);
  return tf.concat([p.positive, p.negative]);
};
const mm4: Build = (f) => {
  const [n, h, w, c] = f.shape;
  const idx = tf.concat([t.anchor, t.anchor, t.positive, t.negative]);
  const sel = tf.cast(tf.oneHot(idx, n), 'float32') as tf.Tensor2D;
  const picked = tf.reshape(tf.matMul(sel, tf.reshape(f, [n, h * w * c])), [2, 2 * B, h * w, c]);
  return tf.reshape(tf.transpose(picked, [1, 2, 0, 3]), [2 * B, h, w, 2 * c]);
};
const gather: Build = (f) => {
  const [n, h, w, c] = f.shape;
  const hw = h * w;
  const first = tf.concat([t.anchor, t.anchor]);
  const second = tf.concat([t.positive, t.negative]);
  const base = tf.mul(tf.stack([first, second], 1), tf.scalar(hw, 'int32'));
  const idx = tf.add(tf.expandDims(base, 1), tf.reshape(tf.range(0, hw, 1, 'int32'), [1, hw, 1]));
  const rows = tf.gather(tf.reshape(f, [n * hw, c]), tf.reshape(idx, [-1]));
  return tf.reshape(rows, [2 * B, h, w, 2 * c]);
};

const stages: Array<[number, number, number, number]> = [
  [B, 14, 14, 8],
  [B, 7, 7, 32],
  [B, 4, 4, 64],
];
const cases = stages.flatMap((shape) => {
  const f = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const dy = tf.randomNormal([2 * B, shape[1], shape[2], 2 * shape[3]], 0, 1, 'float32', 2);
  // Same values and gradients first.
  const outs = [old, mm4, gather].map((b) =>
    tf.tidy(() => {
      const y = b(f as tf.Tensor4D).dataSync();
      const g = tf
        .grad((x: tf.Tensor) => tf.sum(tf.mul(b(x as tf.Tensor4D), dy)))(f)
        .dataSync();
      return { y, g };
    }),
  );
  const maxDiff = (a: ArrayLike<number>, q: ArrayLike<number>) => {
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - q[i]!));
    return d;
  };
  console.log(
    `${JSON.stringify(shape)}: |y| mm4 ${maxDiff(outs[0]!.y, outs[1]!.y)}, gather ${maxDiff(outs[0]!.y, outs[2]!.y)}; |grad| mm4 ${maxDiff(outs[0]!.g, outs[1]!.g)}, gather ${maxDiff(outs[0]!.g, outs[2]!.g)}`,
  );
  return (
    [
      ['old', old],
      ['mm4', mm4],
      ['gather', gather],
    ] as const
  ).map(([name, b]) => ({
    name: `${JSON.stringify(shape)} ${name}`,
    run: () =>
      tf.tidy(() => {
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(b(x as tf.Tensor4D), dy)))(f).dataSync();
      }),
  }));
});
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
  console.log(`${c.name.padEnd(24)} cpu ${med(times[i]!).toFixed(3).padStart(8)} ms`);
});
