/**
 * Scratch (issue 19, goal 4): this branch's wasm kernels (`Slice` from a heap view, same-dtype
 * `Cast` sharing its buffer, `MaxPoolGrad`'s clipped border windows unrolled) against main's
 * (tfjs-backend-wasm's `Slice` and `Cast`, main's `MaxPoolGrad`: mainMaxPoolGrad.ts), swapped by
 * re-registering the three kernels between steps, interleaved in one process:
 * - the plain and the ICC teacher exactly as `getTeacher` builds them, and the CE and KD student
 *   arms as the benchmark builds them (batch 32), one Distiller per arm and kernel set, fed the
 *   same batches: CPU / wall medians per step, and at the end every variable of the A and B
 *   Distillers compared bit for bit (the end-to-end proof: N steps give the same weights);
 * - `MaxPoolGrad` alone at the MNIST models' clipped shape `[64, 7, 7, C]` -> `[64, 4, 4, C]`.
 *
 * Run: `npx tsx examples/mnist/scratch/coldKernelsAB.ts [--rounds 8] [--steps 4]`
 */
import { useBackend } from '@relkd/backend';
import { FusedAdamOptimizer } from '@relkd/core';
import { Distiller } from '@relkd/layers';
import { iccTeacher } from '@relkd/layers/recipes/icc';
import * as tf from '@tensorflow/tfjs-core';
import { armById, configFor } from '../src/arms';
import { parseRequest } from '../src/cliArgs';
import { getTeacher, loadData, TEACHER_LR, toTensors } from '../src/jobs';
import { buildStudent, buildTeacher } from '../src/models';
import { loadTuned } from '../src/tuning';
import { maxPoolGradKernel as mainMaxPoolGrad } from './mainMaxPoolGrad';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const ROUNDS = Number(opt('rounds', '8'));
const STEPS = Number(opt('steps', '4'));
await useBackend('wasm');
const NAMES = ['Slice', 'Cast', 'MaxPoolGrad'] as const;
const branch = Object.fromEntries(NAMES.map((n) => [n, tf.getKernel(n, 'wasm')!]));
const { registerWasmGradientKernels } = await import('@relkd/backend');
registerWasmGradientKernels({ faster: false });
const upstream = Object.fromEntries(NAMES.map((n) => [n, tf.getKernel(n, 'wasm')!]));
registerWasmGradientKernels();
const mainSet: Record<string, tf.KernelConfig> = {
  Slice: upstream.Slice!,
  Cast: upstream.Cast!,
  MaxPoolGrad: { ...branch.MaxPoolGrad!, kernelFunc: mainMaxPoolGrad },
};
const use = (set: 'main' | 'branch') => {
  for (const n of NAMES) {
    tf.unregisterKernel(n, 'wasm');
    tf.registerKernel(set === 'main' ? mainSet[n]! : branch[n]!);
  }
};

const { p } = parseRequest([])!;
const data = loadData(p);
const { configs } = loadTuned();
const teacherSet = toTensors(data.train, data.teacherIdx.slice(0, 64 * 20));
const plainNet = (await getTeacher('plain', p, data, { evaluate: false, reuse: true })).net;

interface Arm {
  id: string;
  batch: number;
  make: () => Distiller;
}
const arms: Arm[] = [
  {
    id: 'plain teacher',
    batch: 64,
    make: () =>
      new Distiller({
        student: buildTeacher(100, 't', p.arch).model,
        optimizer: new FusedAdamOptimizer(TEACHER_LR),
        seed: 7,
      }),
  },
  {
    id: 'ICC teacher',
    batch: 64,
    make: () =>
      new Distiller({
        student: buildTeacher(200, 'ti', p.arch).model,
        optimizer: new FusedAdamOptimizer(TEACHER_LR),
        seed: 7,
        ...iccTeacher({ numClasses: 10, weight: 0.5 }),
      }),
  },
  ...(['ce', 'kd'] as const).map((id) => ({
    id: `student ${id}`,
    batch: 32,
    make: () => {
      const arm = armById(id);
      const student = buildStudent(1000, p.arch);
      const teacher = arm.teacher === undefined ? undefined : plainNet;
      return new Distiller({
        student: student.model,
        teacher: teacher?.model,
        optimizer: new FusedAdamOptimizer(p.lr),
        seed: 1000,
        ...arm.build({
          student,
          teacher,
          numClasses: 10,
          config: configFor(arm, configs),
          seed: 1000,
          teacherHeadWeights: undefined,
          offlineTeacher: undefined,
        }),
      });
    },
  })),
];
const runners = arms.map((a) => ({
  ...a,
  d: { main: a.make(), branch: a.make() },
  k: { main: 0, branch: 0 },
  cpu: { main: [] as number[], branch: [] as number[] },
  wall: { main: [] as number[], branch: [] as number[] },
}));
const source = { x: teacherSet.x, y: teacherSet.y };
const batchOf = (b: number, size: number) =>
  tf.tidy(() => {
    const n = source.x.shape[0];
    const it = tf.tensor1d(
      Array.from({ length: size }, (_, i) => (b * size + i) % n),
      'int32',
    );
    return [tf.gather(source.x, it), tf.gather(source.y, it)] as const;
  });
const step = (r: (typeof runners)[number], set: 'main' | 'branch') => {
  const [x, y] = batchOf(r.k[set]++, r.batch);
  r.d[set].step(x, y);
  tf.dispose([x, y]);
};
for (const r of runners)
  for (const set of ['main', 'branch'] as const) {
    use(set);
    for (let i = 0; i < 3; i++) step(r, set);
  }
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runners) {
    for (const set of round % 2 === 0
      ? (['main', 'branch'] as const)
      : (['branch', 'main'] as const)) {
      use(set);
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      for (let s = 0; s < STEPS; s++) step(r, set);
      const c = process.cpuUsage(c0);
      r.cpu[set].push((c.user + c.system) / 1000 / STEPS);
      r.wall[set].push((performance.now() - w0) / STEPS);
    }
  }
}
use('branch');
const med = (a: number[]) => {
  const s = [...a].sort((q, w) => q - w);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const bits = (v: tf.Variable) => {
  const d = v.dataSync() as Float32Array;
  return new Uint32Array(d.buffer, d.byteOffset, d.length);
};
for (const r of runners) {
  const a = r.d.main.varList();
  const b = r.d.branch.varList();
  let differ = 0;
  let values = 0;
  a.forEach((v, i) => {
    const x = bits(v);
    const y = bits(b[i]!);
    values += x.length;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) differ++;
  });
  console.log(
    `${r.id.padEnd(14)} main CPU ${med(r.cpu.main).toFixed(2)} ms/step (wall ${med(r.wall.main).toFixed(2)}), branch ${med(r.cpu.branch).toFixed(2)} (wall ${med(r.wall.branch).toFixed(2)}): ${(med(r.cpu.main) / med(r.cpu.branch)).toFixed(3)}x; after ${r.k.main} steps each, ${differ} of ${values} weights differ in any bit`,
  );
}
// MaxPoolGrad alone at the clipped shapes (fresh inputs each call).
for (const c of [16, 64]) {
  const t: Record<string, number[]> = { main: [], branch: [] };
  for (let r = 0; r < 30; r++) {
    const x = tf.randomNormal([64, 7, 7, c]) as tf.Tensor4D;
    const dy = tf.randomNormal([64, 4, 4, c]) as tf.Tensor4D;
    const y = tf.maxPool(x, 2, 2, 'same');
    const out: Record<string, Uint32Array> = {};
    for (const set of r % 2 ? (['main', 'branch'] as const) : (['branch', 'main'] as const)) {
      use(set);
      const c0 = process.cpuUsage();
      const g = tf
        .engine()
        .runKernel(
          'MaxPoolGrad',
          { dy, input: x, output: y },
          { filterSize: 2, strides: 2, pad: 'same' },
        ) as tf.Tensor;
      const cc = process.cpuUsage(c0);
      t[set]!.push((cc.user + cc.system) / 1000);
      const v = g.dataSync() as Float32Array;
      out[set] = new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
      g.dispose();
    }
    if (out.main!.some((v, i) => v !== out.branch![i])) throw new Error('MaxPoolGrad differs');
    tf.dispose([x, dy, y]);
  }
  use('branch');
  console.log(
    `MaxPoolGrad [64,7,7,${c}] -> [64,4,4,${c}]: main ${med(t.main!).toFixed(3)} ms, branch ${med(t.branch!).toFixed(3)} ms (CPU medians of 30, same bits)`,
  );
}
