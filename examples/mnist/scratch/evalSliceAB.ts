/**
 * Scratch (issue 19, goal 4): the evaluations of a default run with tfjs-backend-wasm's `Slice`
 * (which copies its whole input on every call) against @relkd/backend's (a copy of the slice
 * only), interleaved in one process on the same trained-shape student: the 10 000 test and
 * 5 000 validation images in batches of 500 (the final evaluations), the 1 000-image curve in
 * batches of 256, and the teacher's `predict` over the validation split (`correlationMass`).
 * CPU / wall medians, and the accuracies and losses of both (they must be equal).
 *
 * Run: `npx tsx examples/mnist/scratch/evalSliceAB.ts [--rounds 5]`
 */
import { createHash } from 'node:crypto';
import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import { evaluateModel } from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import { parseRequest } from '../src/cliArgs';
import { loadData } from '../src/jobs';
import { buildStudent, buildTeacher } from '../src/models';

const args = process.argv.slice(2);
const ROUNDS = Number(args[args.indexOf('--rounds') + 1] ?? 5) || 5;
await useBackend('wasm');
const ours = tf.getKernel('Slice', 'wasm')!;
registerWasmGradientKernels({ faster: false });
const upstream = tf.getKernel('Slice', 'wasm')!;
registerWasmGradientKernels();
const use = (k: tf.KernelConfig) => {
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel(k);
};
const { p } = parseRequest([])!;
const data = loadData(p);
const student = buildStudent(1000);
const teacher = buildTeacher(100);
const tasks: Record<string, () => Promise<unknown>> = {
  'test 10000 @500': () => evaluateModel(student.model, data.testSet.x, data.testSet.y, 500),
  'val 5000 @500': () => evaluateModel(student.model, data.valSet.x, data.valSet.y, 500),
  'curve 1000 @256': () => evaluateModel(student.model, data.curveSet.x, data.curveSet.y, 256),
  'teacher predict val @500': async () => {
    const l = teacher.model.predict(data.valSet.x, { batchSize: 500 }) as tf.Tensor;
    const v = l.dataSync() as Float32Array;
    l.dispose();
    // The logits' bits, hashed.
    return createHash('sha256')
      .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
      .digest('hex')
      .slice(0, 16);
  },
};
const arms = { upstream, ours } as const;
const t: Record<string, { cpu: number[]; wall: number[]; result: string }> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [task, f] of Object.entries(tasks)) {
    const order = r % 2 === 0 ? (['upstream', 'ours'] as const) : (['ours', 'upstream'] as const);
    for (const a of order) {
      use(arms[a]);
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const result = JSON.stringify(await f());
      const c = process.cpuUsage(c0);
      const key = `${task} ${a}`;
      t[key] ??= { cpu: [], wall: [], result };
      t[key]!.cpu.push((c.user + c.system) / 1000);
      t[key]!.wall.push(performance.now() - w0);
      if (t[key]!.result !== result) throw new Error(`${key}: result changed between rounds`);
    }
  }
}
use(ours);
const med = (a: number[]) => {
  const s = [...a].sort((q, w) => q - w);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const task of Object.keys(tasks)) {
  const u = t[`${task} upstream`]!;
  const o = t[`${task} ours`]!;
  console.log(
    `${task.padEnd(26)} upstream CPU ${med(u.cpu).toFixed(0).padStart(5)} ms (wall ${med(u.wall).toFixed(0)}), ours ${med(o.cpu).toFixed(0).padStart(5)} ms (wall ${med(o.wall).toFixed(0)}), ${(med(u.cpu) / med(o.cpu)).toFixed(2)}x; same result: ${u.result === o.result} ${o.result}`,
  );
}
