/**
 * Scratch (issue 19, goal 4): one student run of each arm of the default compare run, as
 * `runStudent` does it (cached teachers from .relkd-cache), with its CPU time split into
 * training, the per-epoch curve evaluation (1 000 images) and the final evaluations (5 000
 * validation + 10 000 test images), by timing `Distiller.prototype.evaluate`.
 *
 * Run: `npx tsx examples/mnist/scratch/coldStudentRuns.ts [--arms ce,kd,...] [--seed 0]`
 */
import { useBackend } from '@relkd/backend';
import { Distiller } from '@relkd/layers';
import { armById, controlsFor, METHODS } from '../src/arms';
import { parseRequest } from '../src/cliArgs';
import { studentJobsFor } from '../src/execute';
import { getTeacher, loadData, runStudent } from '../src/jobs';
import type { Net } from '../src/models';
import { loadTuned } from '../src/tuning';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
await useBackend('wasm');
const { p } = parseRequest([])!;
const data = loadData(p);
const arms = [...METHODS.map((m) => armById(m)), ...controlsFor(METHODS)];
const want = opt('arms', arms.map((a) => a.id).join(',')).split(',');
const { configs } = loadTuned();
const jobs = studentJobsFor(
  arms.filter((a) => want.includes(a.id)),
  configs,
  1,
  true,
).map((j) => ({ ...j, s: Number(opt('seed', '0')) }));
const nets: { plain?: Net; icc?: Net } = {};
for (const k of ['plain', 'icc'] as const)
  nets[k] = (await getTeacher(k, p, data, { evaluate: false, reuse: true })).net;

const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
const evalCpu = new Map<number, number>();
const original = Distiller.prototype.evaluate;
Distiller.prototype.evaluate = async function (x, y, b) {
  const c0 = process.cpuUsage();
  const r = await original.call(this, x, y, b);
  const n = x.shape[0];
  evalCpu.set(n, (evalCpu.get(n) ?? 0) + cpuS(process.cpuUsage(c0)));
  return r;
};
console.log(
  'arm            total CPU-s  wall-s  train  curve(8x1000)  final(5000+10000)  val  test',
);
let sum = { cpu: 0, train: 0, curve: 0, final: 0 };
for (const job of jobs) {
  evalCpu.clear();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const r = await runStudent(job, p, data, nets);
  const cpu = cpuS(process.cpuUsage(c0));
  const wall = (performance.now() - w0) / 1000;
  const curve = evalCpu.get(1000) ?? 0;
  const fin = (evalCpu.get(5000) ?? 0) + (evalCpu.get(10000) ?? 0);
  sum = {
    cpu: sum.cpu + cpu,
    train: sum.train + cpu - curve - fin,
    curve: sum.curve + curve,
    final: sum.final + fin,
  };
  console.log(
    `${job.arm.padEnd(14)} ${cpu.toFixed(2).padStart(8)} ${wall.toFixed(2).padStart(7)} ${(cpu - curve - fin).toFixed(2).padStart(6)} ${curve.toFixed(2).padStart(14)} ${fin.toFixed(2).padStart(18)}  ${r.val.toFixed(2)} ${r.test.toFixed(2)}`,
  );
}
console.log(
  `sum            ${sum.cpu.toFixed(2).padStart(8)}         ${sum.train.toFixed(2).padStart(6)} ${sum.curve.toFixed(2).padStart(14)} ${sum.final.toFixed(2).padStart(18)}`,
);
