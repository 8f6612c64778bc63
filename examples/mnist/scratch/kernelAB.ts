/**
 * Scratch (issue 19, helper K): one wasm kernel, tfjs-backend-wasm's own (A; for `Sum`, main's
 * JavaScript pass) against @relkd/backend's replacement (B), at the shapes MTKD-SSR's and VRM's steps run it. Checks the
 * outputs are bit-identical, then times both interleaved with fresh inputs (median of CPU time
 * per call over rounds). Run: `npx tsx examples/mnist/scratch/kernelAB.ts [--kernel Mean]
 * [--rounds 31] [--reps 20]`.
 */
import { registerWasmGradientKernels, useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { sumKernel as mainSumKernel } from './mainSumKernel';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1]! : d;
};
const KERNEL = opt('kernel', 'Mean');
const ROUNDS = Number(opt('rounds', '31'));
const REPS = Number(opt('reps', '20'));
await useBackend('wasm');
const ours = tf.getKernel(KERNEL, 'wasm')!;
registerWasmGradientKernels({ faster: false });
const upstreamK = tf.getKernel(KERNEL, 'wasm')!;
// `Sum`: main's JavaScript pass (eight accumulators) is the baseline, not tfjs-backend-wasm's.
const theirs =
  KERNEL === 'Sum' ? { ...upstreamK, kernelFunc: mainSumKernel(upstreamK.kernelFunc) } : upstreamK;
registerWasmGradientKernels();
const use = (cfg: tf.KernelConfig) => {
  tf.unregisterKernel(KERNEL, 'wasm');
  tf.registerKernel(cfg);
};

interface Case {
  label: string;
  make: () => tf.Tensor[];
  run: (xs: tf.Tensor[]) => tf.Tensor;
}
const rnd = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32');
const CASES: Record<string, Case[]> = {
  Sum: [
    [64, 14, 14, 32],
    [64, 14, 14, 16],
    [64, 7, 7, 32],
    [64, 7, 7, 64],
    [64, 4, 4, 64],
    [64, 28, 28, 8],
  ].map((s) => ({
    label: `sum ${JSON.stringify(s)} over [0,1,2]`,
    make: () => [rnd(s)],
    run: ([x]: tf.Tensor[]) => tf.sum(x!, [0, 1, 2]),
  })),
  Mean: [
    ...[
      [64, 14, 14, 16],
      [64, 7, 7, 32],
      [64, 7, 7, 16],
      [64, 7, 7, 8],
      [64, 4, 4, 64],
      [64, 4, 4, 32],
      [64, 4, 4, 16],
    ].map((s) => ({
      label: `mean ${JSON.stringify(s)} over [0,1,2]`,
      make: () => [rnd(s)],
      run: ([x]: tf.Tensor[]) => tf.mean(x!, [0, 1, 2]),
    })),
    {
      label: 'mean [64,4,4,64] over [1,2] (GAP)',
      make: () => [rnd([64, 4, 4, 64])],
      run: ([x]) => tf.mean(x!, [1, 2]),
    },
  ],
  Transpose: [
    ...(
      [
        ...(opt('extra', '') === ''
          ? []
          : (JSON.parse(opt('extra', '[]')) as number[][]).map((q) => [q, [1, 0]])),
        [
          [1024, 64],
          [1, 0],
        ],
        [
          [1024, 32],
          [1, 0],
        ],
        [
          [12544, 8],
          [1, 0],
        ],
        [
          [3136, 32],
          [1, 0],
        ],
        [
          [128, 128],
          [1, 0],
        ],
        [
          [64, 28, 28, 8],
          [1, 2, 0, 3],
        ],
        [
          [64, 14, 14, 32],
          [1, 2, 0, 3],
        ],
        [
          [64, 7, 7, 32],
          [3, 1, 2, 0],
        ],
        [
          [64, 14, 14, 8],
          [3, 1, 2, 0],
        ],
        [
          [32, 3, 3, 64],
          [1, 2, 0, 3],
        ],
      ] as [number[], number[]][]
    ).map(([s, perm]) => ({
      label: `transpose ${JSON.stringify(s)} ${JSON.stringify(perm)}`,
      make: () => [rnd(s)],
      run: ([x]: tf.Tensor[]) => tf.transpose(x!, perm),
    })),
  ],
  RealDiv: [
    [64, 14, 14, 16],
    [64, 7, 7, 32],
    [64, 7, 7, 16],
    [64, 7, 7, 8],
    [64, 4, 4, 64],
    [64, 4, 4, 32],
  ].map((s) => ({
    label: `div ${JSON.stringify(s)} by [${s[3]}]`,
    make: () => [rnd(s), tf.tidy(() => tf.add(tf.abs(rnd([s[3]!])), 0.1))],
    run: ([x, v]: tf.Tensor[]) => tf.div(x!, v!),
  })),
};

const cases = CASES[KERNEL] ?? [];
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
for (const c of cases) {
  // Bit-identical on 5 fresh inputs.
  for (let t = 0; t < 5; t++) {
    const xs = c.make();
    use(theirs);
    const a = c.run(xs);
    use(ours);
    const b = c.run(xs);
    const av = a.dataSync();
    const bv = b.dataSync();
    let diff = 0;
    for (let i = 0; i < av.length; i++) diff = Math.max(diff, Math.abs(av[i]! - bv[i]!));
    const same = av.length === bv.length && av.every((v, i) => Object.is(v, bv[i]));
    if (!same) console.log(`${c.label}: NOT bit-identical, max |diff| ${diff}`);
    tf.dispose([...xs, a, b]);
  }
  const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
      use(side === 'A' ? theirs : ours);
      const inputs = Array.from({ length: REPS }, () => c.make());
      const c0 = process.cpuUsage();
      for (const xs of inputs) c.run(xs).dispose();
      const u = process.cpuUsage(c0);
      cpu[side].push((u.user + u.system) / 1000 / REPS);
      for (const xs of inputs) tf.dispose(xs);
    }
  }
  const a = med(cpu.A);
  const b = med(cpu.B);
  console.log(
    `${c.label.padEnd(40)} upstream ${a.toFixed(3)} ms  ours ${b.toFixed(3)} ms  ${(a / b).toFixed(2)}x`,
  );
}
use(ours);
