/**
 * Scratch (issue 19, helper K): what one tiny kernel costs through the engine on wasm, against the
 * kernel function called directly. `tf.mul` of two `[16]` tensors: (a) plain `tf.mul` in a tidy,
 * (b) the same under a gradient tape (`tf.grad` forward + backward of a chain of N muls, per op),
 * (c) the registered wasm kernel function called directly with the backend. CPU-time medians.
 * Run: `npx tsx examples/mnist/scratch/dispatchCost.ts`.
 */
import { useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';

await useBackend('wasm');
const N = 400;
const ROUNDS = 21;
const a = tf.randomNormal([16]);
const b = tf.randomNormal([16]);
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
const cpuUs = (f: () => void) => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
const kernel = tf.getKernel('Multiply', 'wasm')!.kernelFunc;
const backend = tf.backend();
const res: Record<string, number[]> = { engine: [], tape: [], direct: [] };
for (let r = 0; r < ROUNDS; r++) {
  res.engine!.push(
    cpuUs(() =>
      tf
        .tidy(() => {
          let x = a;
          for (let i = 0; i < N; i++) x = tf.mul(x, b);
          return x;
        })
        .dispose(),
    ) / N,
  );
  res.tape!.push(
    cpuUs(() => {
      const g = tf.grad((x: tf.Tensor) => {
        let y = x;
        for (let i = 0; i < N; i++) y = tf.mul(y, b);
        return tf.sum(y);
      })(a);
      g.dispose();
    }) / N,
  );
  res.direct!.push(
    cpuUs(() => {
      for (let i = 0; i < N; i++) {
        const out = kernel({ inputs: { a, b }, backend, attrs: {} }) as tf.TensorInfo;
        backend.disposeData(out.dataId);
      }
    }) / N,
  );
}
for (const [k, v] of Object.entries(res))
  console.log(`${k.padEnd(8)} ${med(v).toFixed(1)} µs per op`);
