/**
 * Scratch A/B (issue 19, CORSD's step): @relkd/backend's `RelkdSelectRows` kernel pair (row copy
 * forward, segment-sum gradient) against the one-hot matrix product it replaces, both in one
 * process on wasm, interleaved (the kernels are unregistered for the `B` side and registered again
 * for the `A` side before each measurement):
 * 1. the pair batch alone: `gatherJointPairs` forward + backward to the features at the MNIST
 *    student's three stage shapes (batch 64, fresh features and upstream gradient each rep);
 * 2. whole `Distiller.step`s of the CE arm and of the CORSD arm with and without the kernels (the
 *    benchmark's arms, tuned configurations, the Distiller's default optimizer), CORSD / CE ratios.
 * Medians over rounds of CPU time (`process.cpuUsage`, user + system) and wall time.
 *
 * Run: `npx tsx examples/mnist/scratch/selectRowsAB.ts [--rounds 15] [--steps 3] [--skip-kernel]
 * [--skip-step] [--direct]` (`--direct`: the selection alone, no tape).
 */
import { useBackend } from '@relkd/backend';
import { Distiller } from '@relkd/layers';
import { tripletIndices } from '@relkd/relation-network';
import * as tf from '@tensorflow/tfjs-core';
import { gatherJointPairs } from '../../../packages/relation-network/src/gatherPairs';
import { armById, configFor } from '../src/arms';
import { loadMnist } from '../src/idx';
import { buildStudent } from '../src/models';
import { loadTuned } from '../src/tuning';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const ROUNDS = Number(opt('rounds', '15'));
const STEPS = Number(opt('steps', '3'));
const info = await useBackend('wasm');
console.log(`backend ${info.name} threads ${info.threads ?? '-'} simd ${info.simd ?? '-'}`);

const KERNELS = ['RelkdSelectRows', 'RelkdSelectRowsGrad'];
const saved = KERNELS.map((k) => tf.getKernel(k, 'wasm')!);
const setFused = (on: boolean) => {
  for (const k of KERNELS)
    if (tf.getKernel(k, 'wasm') !== undefined) tf.unregisterKernel(k, 'wasm');
  if (on) for (const c of saved) tf.registerKernel(c);
};
const med = (a: number[]) => {
  const s = [...a].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const time = (fn: () => void) => {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  fn();
  const w = performance.now() - w0;
  const c = process.cpuUsage(c0);
  return { wall: w, cpu: (c.user + c.system) / 1000 };
};
const B = 64;

if (!args.includes('--skip-kernel')) {
  const labels = tf.tensor1d(
    Array.from({ length: B }, (_, i) => i % 10),
    'int32',
  );
  const t = tripletIndices(labels, { seed: 3, numClasses: 10 });
  const REPS = 5;
  for (const shape of [
    [B, 14, 14, 8],
    [B, 7, 7, 32],
    [B, 4, 4, 64],
  ] as Array<[number, number, number, number]>) {
    const f0 = tf.randomNormal(shape, 0, 1, 'float32', 1);
    const dy0 = tf.randomNormal([2 * B, shape[1], shape[2], 2 * shape[3]], 0, 1, 'float32', 2);
    const res: Record<'A' | 'B', { cpu: number[]; wall: number[] }> = {
      A: { cpu: [], wall: [] },
      B: { cpu: [], wall: [] },
    };
    const one = (side: 'A' | 'B') => {
      setFused(side === 'A');
      let total = { wall: 0, cpu: 0 };
      for (let r = 0; r < REPS; r++) {
        // fresh tensors each rep (XNNPACK packs a new right-hand operand on every call)
        const f = tf.add(f0, 0) as tf.Tensor4D;
        const dy = tf.add(dy0, 0);
        const m = time(() => {
          const g = tf.grad((x: tf.Tensor) =>
            tf.sum(tf.mul(gatherJointPairs(x as tf.Tensor4D, t), dy)),
          )(f);
          g.dataSync();
          g.dispose();
        });
        total = { wall: total.wall + m.wall, cpu: total.cpu + m.cpu };
        tf.dispose([f, dy]);
      }
      res[side].wall.push(total.wall / REPS);
      res[side].cpu.push(total.cpu / REPS);
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
      `pairs ${JSON.stringify(shape)} fwd+bwd: product cpu ${med(res.B.cpu).toFixed(2)} ms (wall ${med(res.B.wall).toFixed(2)}), kernels cpu ${med(res.A.cpu).toFixed(2)} ms (wall ${med(res.A.wall).toFixed(2)}), ratio cpu ${(med(res.B.cpu) / med(res.A.cpu)).toFixed(2)}x wall ${(med(res.B.wall) / med(res.A.wall)).toFixed(2)}x`,
    );
    tf.dispose([f0, dy0]);
  }
  setFused(true);
}

if (args.includes('--direct')) {
  // The selection alone, no tape: forward (kernel vs one-hot product + transpose) and backward
  // (gradient kernel vs the transposes + transposed product the tape runs), fresh inputs.
  const labels = tf.tensor1d(
    Array.from({ length: B }, (_, i) => i % 10),
    'int32',
  );
  const t = tripletIndices(labels, { seed: 3, numClasses: 10 });
  const idx = tf.concat([t.anchor, t.anchor, t.positive, t.negative]) as tf.Tensor1D;
  for (const shape of [
    [B, 14, 14, 8],
    [B, 7, 7, 32],
    [B, 4, 4, 64],
  ] as Array<[number, number, number, number]>) {
    const [n, h, w, c] = shape;
    const d = h * w * c;
    const f0 = tf.randomNormal([n, d], 0, 1, 'float32', 1);
    const dy0 = tf.randomNormal([2 * B, h * w, 2, c], 0, 1, 'float32', 2);
    const sel = tf.cast(tf.oneHot(idx, n), 'float32') as tf.Tensor2D;
    const fwd = (fused: boolean) => {
      const f = tf.add(f0, 0) as tf.Tensor2D;
      const m = time(() => {
        const y = fused
          ? (tf.engine().runKernel(
              'RelkdSelectRows',
              { x: f, indices: idx },
              {
                groups: 2,
                channels: c,
              },
            ) as tf.Tensor)
          : tf.transpose(tf.reshape(tf.matMul(sel, f), [2, 2 * B, h * w, c]), [1, 2, 0, 3]);
        y.dispose(); // wasm kernels run synchronously: no read-back (which costs more than the copy)
      });
      f.dispose();
      return m;
    };
    const bwd = (fused: boolean) => {
      const dy = tf.add(dy0, 0);
      const m = time(() => {
        const g = fused
          ? (tf.engine().runKernel(
              'RelkdSelectRowsGrad',
              { dy, indices: idx },
              {
                rows: n,
                groups: 2,
                channels: c,
              },
            ) as tf.Tensor)
          : tf.tidy(() =>
              tf.matMul(
                sel,
                tf.reshape(tf.transpose(dy, [2, 0, 1, 3]), [4 * B, d]) as tf.Tensor2D,
                true,
                false,
              ),
            );
        g.dispose();
      });
      dy.dispose();
      return m;
    };
    const res: Record<string, number[]> = { fA: [], fB: [], bA: [], bB: [] };
    for (let r = 0; r < ROUNDS + 3; r++) {
      const order = r % 2 ? [true, false] : [false, true];
      for (const fused of order) {
        const a = fwd(fused);
        const b = bwd(fused);
        if (r >= 3) {
          res[fused ? 'fA' : 'fB']!.push(a.cpu);
          res[fused ? 'bA' : 'bB']!.push(b.cpu);
        }
      }
    }
    console.log(
      `selection alone ${JSON.stringify(shape)}: forward product+transpose ${med(res.fB!).toFixed(3)} ms, kernel ${med(res.fA!).toFixed(3)} ms (${(med(res.fB!) / med(res.fA!)).toFixed(2)}x); backward transposes+product ${med(res.bB!).toFixed(3)} ms, kernel ${med(res.bA!).toFixed(3)} ms (${(med(res.bB!) / med(res.bA!)).toFixed(2)}x) [CPU medians]`,
    );
    tf.dispose([f0, dy0, sel]);
  }
}

if (!args.includes('--skip-step')) {
  const { train } = loadMnist();
  const NB = 8;
  const batches: Array<{ x: tf.Tensor4D; y: tf.Tensor1D }> = [];
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < 4000; i++) byClass[train.labels[i]!]!.push(i);
  for (let b = 0; b < NB; b++) {
    const xs = new Float32Array(B * 784);
    const ys = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      const c = i % 10;
      const list = byClass[c]!;
      const idx = list[(b * 7 + Math.floor(i / 10)) % list.length]!;
      ys[i] = c;
      for (let p = 0; p < 784; p++) xs[i * 784 + p] = train.images[idx * 784 + p]! / 255;
    }
    batches.push({ x: tf.tensor4d(xs, [B, 28, 28, 1]), y: tf.tensor1d(ys, 'int32') });
  }
  const { configs } = loadTuned();
  const make = (armId: string, fused: boolean) => {
    const arm = armById(armId);
    const student = buildStudent(1000);
    const parts = arm.build({
      student,
      teacher: undefined,
      numClasses: 10,
      config: configFor(arm, configs),
      seed: 1000,
    });
    const d = new Distiller({ student: student.model, seed: 1000, ...parts });
    return {
      id: fused ? armId : `${armId}-product`,
      d,
      fused,
      wall: [] as number[],
      cpu: [] as number[],
    };
  };
  const runners = [make('ce', true), make('corsd', true), make('corsd', false)];
  let k = 0;
  const run = (r: (typeof runners)[number], n: number) => {
    setFused(r.fused);
    for (let s = 0; s < n; s++) {
      const b = batches[k++ % NB]!;
      r.d.step(b.x, b.y);
    }
  };
  for (const r of runners) run(r, 4);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < runners.length; j++) {
      const r = runners[(j + round) % runners.length]!;
      const m = time(() => run(r, STEPS));
      r.wall.push(m.wall / STEPS);
      r.cpu.push(m.cpu / STEPS);
    }
  }
  setFused(true);
  const ce = runners[0]!;
  console.log(`\n${ROUNDS} rounds x ${STEPS} steps, batch ${B}, wasm`);
  console.log('arm             cpu med  wall med   x CE (cpu)  x CE (wall)');
  for (const r of runners) {
    console.log(
      `${r.id.padEnd(14)} ${med(r.cpu).toFixed(2).padStart(9)} ${med(r.wall).toFixed(2).padStart(9)} ${(med(r.cpu) / med(ce.cpu)).toFixed(2).padStart(12)} ${(med(r.wall) / med(ce.wall)).toFixed(2).padStart(12)}`,
    );
  }
  const a = runners[1]!;
  const b = runners[2]!;
  console.log(
    `CORSD step product / kernels: cpu ${(med(b.cpu) / med(a.cpu)).toFixed(3)}x, wall ${(med(b.wall) / med(a.wall)).toFixed(3)}x`,
  );
  if (args.includes('--profile')) {
    // kernel time by name and input shapes, mean of 4 profiled steps per arm; CORSD minus CE
    const PROFILED = 4;
    const byArm: Array<Record<string, { n: number; ms: number }>> = [];
    for (const r of runners) {
      const by: Record<string, { n: number; ms: number }> = {};
      setFused(r.fused);
      for (let s = 0; s < PROFILED; s++) {
        const bt = batches[k++ % NB]!;
        const info = await tf.profile(() => {
          r.d.step(bt.x, bt.y);
        });
        for (const kInfo of info.kernels) {
          if (kInfo.name.endsWith('__op') || kInfo.name.includes('scope')) continue;
          const key = `${kInfo.name} ${JSON.stringify(kInfo.inputShapes)}`;
          const ms = Number(await kInfo.kernelTimeMs);
          by[key] ??= { n: 0, ms: 0 };
          by[key]!.n += 1 / PROFILED;
          by[key]!.ms += ms / PROFILED;
        }
      }
      byArm.push(by);
    }
    setFused(true);
    const [ceBy, corsdBy] = byArm as [
      Record<string, { n: number; ms: number }>,
      Record<string, { n: number; ms: number }>,
    ];
    const total = (by: Record<string, { n: number; ms: number }>) =>
      Object.values(by).reduce((t, e) => t + e.ms, 0);
    console.log(
      `\nkernel ms per step: CE ${total(ceBy).toFixed(2)}, CORSD ${total(corsdBy).toFixed(2)}`,
    );
    const extra = Object.entries(corsdBy)
      .map(([key, e]) => ({ key, n: e.n - (ceBy[key]?.n ?? 0), ms: e.ms - (ceBy[key]?.ms ?? 0) }))
      .sort((p, q) => q.ms - p.ms)
      .slice(0, 30);
    for (const e of extra)
      console.log(`  ${e.ms.toFixed(2).padStart(7)} ms ${e.n.toFixed(0).padStart(4)}x ${e.key}`);
  }
}
