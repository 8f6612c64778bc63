/**
 * Scratch (issue 19, goal 4): the cold default run's teacher steps. Builds the plain and the ICC
 * teacher exactly as `getTeacher` does (seeds, FusedAdamOptimizer 0.002, Distiller seed 7, the
 * ICC regulariser at weight 0.5), runs `Distiller.step` on 64-row batches of the teachers' real
 * training images (gathered as `fit` does), interleaved round-robin, and reports CPU / wall
 * medians per step; `--profile` adds `tf.profile`d steps by kernel name.
 *
 * Run: `npx tsx examples/mnist/scratch/coldTeacherSteps.ts [--rounds 10] [--steps 5] [--profile]`
 */
import { useBackend } from '@relkd/backend';
import { FusedAdamOptimizer } from '@relkd/core';
import { Distiller } from '@relkd/layers';
import { iccTeacher } from '@relkd/layers/recipes/icc';
import * as tf from '@tensorflow/tfjs-core';
import { parseRequest } from '../src/cliArgs';
import { loadData, TEACHER_LR, toTensors } from '../src/jobs';
import { buildTeacher } from '../src/models';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const ROUNDS = Number(opt('rounds', '10'));
const STEPS = Number(opt('steps', '5'));
const backend = opt('backend', 'wasm') as 'wasm' | 'cpu';
await useBackend(backend);
const c0 = process.cpuUsage();
const w0 = performance.now();
const { p } = parseRequest([])!;
const data = loadData(p);
const c1 = process.cpuUsage(c0);
console.log(
  `loadData: ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${((c1.user + c1.system) / 1e6).toFixed(2)} CPU-s`,
);
const set = toTensors(data.train, data.teacherIdx.slice(0, 64 * 40));
const batch = (b: number) =>
  tf.tidy(() => {
    const it = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => (b % 40) * 64 + i),
      'int32',
    );
    return [tf.gather(set.x, it), tf.gather(set.y, it)] as const;
  });
const make = (kind: 'plain' | 'icc') => {
  const net = buildTeacher(kind === 'plain' ? 100 : 200, kind === 'plain' ? 't' : 'ti', p.arch);
  const extra = kind === 'icc' ? iccTeacher({ numClasses: 10, weight: 0.5 }) : {};
  const d = new Distiller({
    student: net.model,
    optimizer: new FusedAdamOptimizer(TEACHER_LR),
    seed: 7,
    ...extra,
  });
  return { kind, d, cpu: [] as number[], wall: [] as number[] };
};
const runners = [make('plain'), make('icc')];
let k = 0;
const step = (r: (typeof runners)[number]) => {
  const [x, y] = batch(k++);
  r.d.step(x, y);
  tf.dispose([x, y]);
};
for (const r of runners) for (let i = 0; i < 5; i++) step(r);
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < runners.length; j++) {
    const r = runners[(j + round) % runners.length]!;
    const cc = process.cpuUsage();
    const ww = performance.now();
    for (let s = 0; s < STEPS; s++) step(r);
    r.wall.push((performance.now() - ww) / STEPS);
    const c = process.cpuUsage(cc);
    r.cpu.push((c.user + c.system) / 1000 / STEPS);
  }
}
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const r of runners)
  console.log(
    `${r.kind.padEnd(6)} CPU ${med(r.cpu).toFixed(2)} ms/step, wall ${med(r.wall).toFixed(2)} ms/step (min ${Math.min(...r.wall).toFixed(2)})`,
  );
if (args.includes('--profile')) {
  const N = Number(opt('profile-steps', '6'));
  for (const r of runners) {
    const by: Record<string, { n: number; ms: number }> = {};
    for (let s = 0; s < N; s++) {
      const [x, y] = batch(k++);
      const prof = await tf.profile(() => {
        r.d.step(x, y);
      });
      tf.dispose([x, y]);
      for (const ki of prof.kernels) {
        if (ki.name.endsWith('__op') || ki.name.includes('scope')) continue;
        const key = args.includes('--shapes')
          ? `${ki.name} ${JSON.stringify(ki.inputShapes)}`
          : ki.name;
        by[key] ??= { n: 0, ms: 0 };
        by[key]!.n += 1 / N;
        by[key]!.ms += (typeof ki.kernelTimeMs === 'number' ? ki.kernelTimeMs : 0) / N;
      }
    }
    const rows = Object.entries(by).sort((a, b) => b[1].ms - a[1].ms);
    const tot = rows.reduce((a, [, e]) => ({ n: a.n + e.n, ms: a.ms + e.ms }), { n: 0, ms: 0 });
    console.log(
      `\n[${r.kind}] ${tot.n.toFixed(0)} kernels, ${tot.ms.toFixed(2)} ms kernel time per step`,
    );
    for (const [name, e] of rows.slice(0, 30))
      console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${e.n.toFixed(1).padStart(6)}x ${name}`);
  }
}
