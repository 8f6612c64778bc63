/**
 * Scratch A/B (issue 19, CORSD's step): the wasm `BatchMatMul` with a transposed operand, this
 * branch's wrapper (the operand transposed by a JavaScript blocked copy over the heap) against the
 * previous one (tfjs-backend-wasm's `Transpose` kernel), both wrapping tfjs-backend-wasm's own
 * kernel, switched by re-registering; kernel alone, fresh inputs, at the shapes of CORSD's
 * relation-network gradients; CPU-time medians over interleaved rounds.
 *
 * Run: `npx tsx examples/mnist/scratch/matMulTransposeAB.ts [--rounds 21]`.
 */
import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulKernel } from '../../../packages/backend/src/wasm/batchMatMul';

const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(args[ri + 1]) : 21;
await useBackend('wasm');
registerWasmGradientKernels({ faster: false });
const base = tf.getKernel('BatchMatMul', 'wasm')!;
registerWasmGradientKernels();
const fresh = batchMatMulKernel(base.kernelFunc);
const previous = batchMatMulKernel(base.kernelFunc, { jsTranspose: false });
const use = (kernelFunc: tf.KernelFunc) => {
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...base, kernelFunc });
};
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
for (const [a, b, ta, tb] of [
  [[2048, 64], [2048, 64], true, false],
  [[2048, 64], [2048, 128], true, false],
  [[2048, 128], [64, 128], false, true],
  [[6272, 16], [6272, 64], true, false],
  [[128, 32], [128, 64], true, false],
] as Array<[number[], number[], boolean, boolean]>) {
  const a0 = tf.randomNormal(a, 0, 1, 'float32', 1);
  const b0 = tf.randomNormal(b, 0, 1, 'float32', 2);
  const res = { A: [] as number[], B: [] as number[] };
  const one = (side: 'A' | 'B') => {
    use(side === 'A' ? fresh : previous);
    let cpu = 0;
    const REPS = 5;
    for (let r = 0; r < REPS; r++) {
      const x = tf.add(a0, 0);
      const y = tf.add(b0, 0);
      const c0 = process.cpuUsage();
      const z = tf.matMul(x, y, ta, tb);
      const cu = process.cpuUsage(c0);
      cpu += (cu.user + cu.system) / 1000;
      tf.dispose([x, y, z]);
    }
    res[side].push(cpu / REPS);
  };
  for (let r = 0; r < ROUNDS + 3; r++) {
    if (r === 3) {
      res.A = [];
      res.B = [];
    }
    if (r % 2) {
      one('A');
      one('B');
    } else {
      one('B');
      one('A');
    }
  }
  console.log(
    `matMul ${JSON.stringify(a)}${ta ? 'ᵀ' : ''} · ${JSON.stringify(b)}${tb ? 'ᵀ' : ''}: Transpose kernel ${med(res.B).toFixed(3)} ms, JS transpose ${med(res.A).toFixed(3)} ms (${(med(res.B) / med(res.A)).toFixed(2)}x) [CPU medians]`,
  );
  tf.dispose([a0, b0]);
}
use(fresh);
