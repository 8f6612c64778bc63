/**
 * ImageNet-scale check of vrmLoss: one forward + backward at C = 1000, B = 256 (two views, so
 * N = 512) on the cpu and wasm backends, with the default (Gram) path. Prints the peak bytes
 * reported by `tf.profile`, the largest tensor any kernel produced, the kernel count and the
 * wall time. The direct path would need the C·C·2B inter-class edge tensor (2.05 GB in float32),
 * which is what the Gram path avoids.
 *
 * Run from the repo root: npx tsx packages/affinity-graph/scripts/scale.ts [--B 256] [--C 1000]
 */
import { useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import { vrmLoss } from '../src/index';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const B = arg('B', 256);
const C = arg('C', 1000);
const MiB = 1024 * 1024;

async function measure(backend: 'cpu' | 'wasm') {
  await useBackend(backend);
  const [ss, sv, ts, tv] = [1, 2, 3, 4].map((seed) =>
    tf.tidy(() => tf.mul(tf.randomNormal([B, C], 0, 1, 'float32', seed), 3)),
  ) as tf.Tensor2D[];
  const step = () =>
    tf.grads(
      (a: tf.Tensor, b: tf.Tensor) =>
        vrmLoss({ student: { real: a, virtual: b }, teacher: { real: ts!, virtual: tv! } }).total,
    )([ss!, sv!]);
  // warm-up (kernel compilation, wasm module)
  tf.dispose(step());
  const inputBytes = tf.memory().numBytes;
  const t0 = performance.now();
  const grads = step();
  await Promise.all(grads.map((g) => g.data()));
  const ms = performance.now() - t0;
  tf.dispose(grads);
  const prof = await tf.profile(() => step());
  let largest = 0;
  for (const k of prof.kernels) {
    for (const s of k.outputShapes)
      largest = Math.max(
        largest,
        s.reduce((p, d) => p * d, 1),
      );
  }
  tf.dispose(prof.result as tf.Tensor[]);
  // tf.profile reuses one result object: copy what we need before profiling again.
  const peakForwardBackward = prof.peakBytes;
  const kernelsForwardBackward = prof.kernels.length;
  const fwd = await tf.profile(() => {
    const r = vrmLoss({
      student: { real: ss!, virtual: sv! },
      teacher: { real: ts!, virtual: tv! },
    });
    return [r.total, r.is, r.ic];
  });
  tf.dispose(fwd.result as tf.Tensor[]);
  tf.dispose([ss, sv, ts, tv]);
  const leftover = tf.memory().numTensors;
  return {
    backend,
    B,
    C,
    N: 2 * B,
    msForwardBackward: Math.round(ms),
    peakMiBForwardBackward: +(peakForwardBackward / MiB).toFixed(1),
    peakMiBAboveInputs: +((peakForwardBackward - inputBytes) / MiB).toFixed(1),
    peakMiBForward: +(fwd.peakBytes / MiB).toFixed(1),
    largestTensorMiB: +((largest * 4) / MiB).toFixed(2),
    kernels: kernelsForwardBackward,
    directIcEdgeTensorMiB: +((C * C * 2 * B * 4) / MiB).toFixed(0),
    leftoverTensors: leftover,
  };
}

const rows = [];
for (const backend of ['cpu', 'wasm'] as const) rows.push(await measure(backend));
console.table(rows);
console.log(JSON.stringify(rows));
