/**
 * Scratch (issue 19, helper K): what `@relkd/core`'s training-mode `BatchNorm` costs in MTKD-SSR's
 * step on wasm — the 9 BatchNorms of the stage modules at their shapes (batch 64), forward +
 * backward to the input, gamma and beta, as `tf.grads` computes them; kernels per pass
 * (`tf.profile`) and CPU median per pass over interleaved rounds, against one `Mean` over the
 * same tensors (a lower bound for a fused kernel: it has to read the input at least once).
 * Run: `npx tsx examples/mnist/scratch/bnShare.ts`.
 */
import { useBackend } from '@relkd/backend';
import { BatchNorm } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

await useBackend('wasm');
const SHAPES: [number, number, number, number][] = [
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
const bns = SHAPES.map((s) => new BatchNorm({ channels: s[3] }));
const xs = SHAPES.map((s) => tf.randomNormal(s));
const rs = SHAPES.map((s) => tf.randomNormal(s));
const pass = () => {
  SHAPES.forEach((_, i) => {
    const bn = bns[i]!;
    const vars = bn.trainableVariables;
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.mul(bn.apply(xs[i]!, { training: true }) as tf.Tensor, rs[i]!)) as tf.Scalar,
      vars,
    );
    tf.dispose([value, ...Object.values(grads)]);
  });
};
const meanOnly = () => {
  for (const x of xs) tf.mean(x, [0, 1, 2]).dispose();
};
pass();
const prof = await tf.profile(() => pass());
const kernels = prof.kernels.filter((k) => !k.name.endsWith('__op') && !k.name.includes('scope'));
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
const cpu = (f: () => void) => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};
const t: { bn: number[]; mean: number[] } = { bn: [], mean: [] };
for (let r = 0; r < 31; r++) {
  t.bn.push(cpu(pass));
  t.mean.push(cpu(meanOnly));
}
const byName: Record<string, number> = {};
for (const k of kernels) byName[k.name] = (byName[k.name] ?? 0) + 1;
console.log(
  `9 BatchNorms, forward + backward: ${kernels.length} kernels, ${med(t.bn).toFixed(2)} ms CPU`,
);
console.log(
  `  ${Object.entries(byName)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}`,
);
console.log(`one Mean over each input: ${med(t.mean).toFixed(2)} ms CPU`);
