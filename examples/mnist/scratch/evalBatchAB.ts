/**
 * Scratch (issue 19, goal 4): the student's inference forward (as `evaluateModel` runs it) over
 * the 5 000 validation images at several batch sizes, interleaved, CPU/wall medians; and the
 * logits of each batch size against batch 500's (max |difference|, bitwise).
 *
 * Run: `npx tsx examples/mnist/scratch/evalBatchAB.ts [--backend wasm] [--rounds 5] [--sizes 32,64,128,256,500]`
 */
import { useBackend } from '@relkd/backend';
import { evaluateModel } from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import { parseRequest } from '../src/cliArgs';
import { loadData } from '../src/jobs';
import { buildStudent, buildTeacher } from '../src/models';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
await useBackend(opt('backend', 'wasm') as 'wasm' | 'cpu');
const { p } = parseRequest([])!;
const data = loadData(p);
const sizes = opt('sizes', '32,64,128,256,500,1000').split(',').map(Number);
const ROUNDS = Number(opt('rounds', '5'));
const net = args.includes('--teacher') ? buildTeacher(100) : buildStudent(1000);
const { x, y } = data.valSet;
const logitsAt = (b: number) =>
  tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < x.shape[0]; i += b)
      parts.push(net.model.predict(tf.slice(x, i, Math.min(b, x.shape[0] - i))) as tf.Tensor);
    return tf.concat(parts);
  });
const ref = logitsAt(500).dataSync();
for (const b of sizes) {
  const l = logitsAt(b);
  const v = l.dataSync();
  let max = 0;
  let bits = 0;
  for (let i = 0; i < v.length; i++) {
    max = Math.max(max, Math.abs(v[i]! - ref[i]!));
    if (!Object.is(v[i], ref[i])) bits++;
  }
  console.log(`batch ${b}: max |logit - batch 500's| = ${max}, ${bits} values differ`);
  l.dispose();
}
const cpu = new Map<number, number[]>();
const wall = new Map<number, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < sizes.length; j++) {
    const b = sizes[(j + r) % sizes.length]!;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await evaluateModel(net.model, x, y, b);
    const c = process.cpuUsage(c0);
    (cpu.get(b) ?? cpu.set(b, []).get(b)!).push((c.user + c.system) / 1000);
    (wall.get(b) ?? wall.set(b, []).get(b)!).push(performance.now() - w0);
  }
}
const med = (a: number[]) => {
  const s = [...a].sort((q, w) => q - w);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const b of sizes)
  console.log(
    `evaluateModel 5000 images, batch ${String(b).padStart(4)}: CPU ${med(cpu.get(b)!).toFixed(0)} ms, wall ${med(wall.get(b)!).toFixed(0)} ms`,
  );
