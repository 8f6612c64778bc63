/**
 * Scratch A/B (issue 19, CORSD's step): the wasm `DepthwiseConv2dNativeBackpropFilter` with the
 * row-wise loop (multiplier 1) against the plain loop it replaced, kernel alone at the CORSD
 * relation networks' shapes (pairs of batch 64, 3 x 3, padding 1), fresh inputs, interleaved in
 * one process; CPU-time (`process.cpuUsage`) and wall medians over rounds.
 *
 * Run: `npx tsx examples/mnist/scratch/depthwiseFilterAB.ts [--rounds 21]`.
 */
import { useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import {
  depthwiseConv2dNativeBackpropFilterPlainKernel as plain,
  depthwiseConv2dNativeBackpropFilterKernel as rows,
} from '../../../packages/backend/src/wasm/depthwiseConv2dNativeBackpropFilter';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 21;
await useBackend('wasm');
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const NAME = 'DepthwiseConv2dNativeBackpropFilter';
const base = tf.getKernel(NAME, 'wasm')!;
const use = (kernelFunc: tf.KernelFunc) => {
  tf.unregisterKernel(NAME, 'wasm');
  tf.registerKernel({ ...base, kernelFunc });
};
const pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];
for (const [shape, stride] of [
  [[128, 4, 4, 64], 1],
  [[128, 7, 7, 64], 2],
  [[128, 14, 14, 16], 2],
  [[128, 7, 7, 16], 1],
] as Array<[[number, number, number, number], number]>) {
  const c = shape[3];
  const oh = Math.floor((shape[1] + 2 - 3) / stride) + 1;
  const x0 = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const dy0 = tf.randomNormal([shape[0], oh, oh, c], 0, 1, 'float32', 2);
  const attrs = { strides: stride, pad, dilations: 1, filterShape: [3, 3, c, 1] };
  const res = {
    A: { cpu: [] as number[], wall: [] as number[] },
    B: { cpu: [] as number[], wall: [] as number[] },
  };
  const REPS = 5;
  const one = (side: 'A' | 'B') => {
    use(side === 'A' ? rows : plain);
    let cpu = 0;
    let wall = 0;
    for (let r = 0; r < REPS; r++) {
      const x = tf.add(x0, 0);
      const dy = tf.add(dy0, 0);
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const out = tf
        .engine()
        .runKernel(NAME, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      wall += performance.now() - w0;
      const cu = process.cpuUsage(c0);
      cpu += (cu.user + cu.system) / 1000;
      tf.dispose([x, dy, out]);
    }
    res[side].cpu.push(cpu / REPS);
    res[side].wall.push(wall / REPS);
  };
  for (let i = 0; i < 3; i++) {
    one('A');
    one('B');
  }
  res.A = { cpu: [], wall: [] };
  res.B = { cpu: [], wall: [] };
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2) {
      one('A');
      one('B');
    } else {
      one('B');
      one('A');
    }
  }
  console.log(
    `${JSON.stringify(shape)} s${stride}: plain cpu ${med(res.B.cpu).toFixed(3)} ms (wall ${med(res.B.wall).toFixed(3)}), row-wise cpu ${med(res.A.cpu).toFixed(3)} ms (wall ${med(res.A.wall).toFixed(3)}), ratio cpu ${(med(res.B.cpu) / med(res.A.cpu)).toFixed(2)}x wall ${(med(res.B.wall) / med(res.A.wall)).toFixed(2)}x`,
  );
  tf.dispose([x0, dy0]);
}
use(base.kernelFunc);
