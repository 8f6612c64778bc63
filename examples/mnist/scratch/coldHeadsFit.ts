/**
 * Scratch (issue 19, goal 4): the MTKD-SSR teacher stage heads' fit of a cold default run, as
 * `teacherHeads` does it (the cached plain teacher, 10 000 of its images, 2 epochs), timed
 * (CPU and wall), without writing the cache. Also the process start-up: `useBackend` and
 * `loadData`.
 *
 * Run: `npx tsx examples/mnist/scratch/coldHeadsFit.ts`
 */
import { useBackend } from '@relkd/backend';
import { methods } from '@relkd/layers/methods';
import * as tf from '@tensorflow/tfjs-core';
import { parseRequest } from '../src/cliArgs';
import { getTeacher, loadData, TEACHER_HEAD_IMAGES, toTensors } from '../src/jobs';
import { buildStudent } from '../src/models';

const cpuS = (c: NodeJS.CpuUsage) => ((c.user + c.system) / 1e6).toFixed(2);
console.log(
  `process up to here: ${(process.uptime()).toFixed(2)} s wall, ${cpuS(process.cpuUsage())} CPU-s (imports)`,
);
let c0 = process.cpuUsage();
let w0 = performance.now();
await useBackend('wasm');
console.log(
  `useBackend: ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${cpuS(process.cpuUsage(c0))} CPU-s`,
);
const { p } = parseRequest([])!;
c0 = process.cpuUsage();
w0 = performance.now();
const data = loadData(p);
console.log(
  `loadData: ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${cpuS(process.cpuUsage(c0))} CPU-s`,
);
const net = (await getTeacher('plain', p, data, { evaluate: false, reuse: true })).net;
c0 = process.cpuUsage();
w0 = performance.now();
const scratch = buildStudent(0, p.arch);
const set = toTensors(data.train, data.teacherIdx.slice(0, TEACHER_HEAD_IMAGES));
const recipe = methods.mtkd.recipe({
  teacher: net.model,
  student: scratch.model,
  stages: { teacher: net.stages, student: scratch.stages },
  numClasses: 10,
  teacherHeads: 'pretrain',
  teacherHeadFit: { epochs: 2, seed: 0 },
});
const fit = await recipe.fitTeacherHeads(set);
console.log(
  `heads fit: ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${cpuS(process.cpuUsage(c0))} CPU-s; accuracy ${fit.accuracy.map((a) => (100 * a).toFixed(1)).join(', ')}`,
);
tf.dispose([set.x, set.y]);
