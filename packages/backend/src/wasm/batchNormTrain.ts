import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@relkd/core/internal';
import type * as tf from '@tensorflow/tfjs-core';
import { KernelScope } from './kernelScope';
import type { WasmHeapBackend } from './wasmHeap';

const f32 = Math.fround;

/** Channels, rows (`x.size / C`) and the reduced axes (all but the last) of a BatchNorm input. */
function geometry(x: tf.TensorInfo) {
  const rank = x.shape.length;
  const c = x.shape[rank - 1] as number;
  const n = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const axes = Array.from({ length: rank - 1 }, (_, i) => i);
  return { c, n, reduce: { axis: axes, keepDims: false } };
}

function view(s: KernelScope, t: tf.TensorInfo): Float32Array {
  return (s.backend as unknown as WasmHeapBackend).typedArrayFromHeap(t) as Float32Array;
}

/** `s = f32(√f32(variance + f32(ε)))`, as `tf.sqrt(tf.add(variance, ε))` (IEEE float32 ops). */
function stdDev(s: KernelScope, variance: tf.TensorInfo, epsilon: number): tf.TensorInfo {
  const eps = f32(epsilon);
  const c = variance.shape[0] as number;
  const info = s.alloc([c]);
  const v = view(s, variance);
  const o = view(s, info);
  for (let k = 0; k < c; k++) o[k] = Math.sqrt(f32((v[k] as number) + eps));
  return info;
}

/** Runs `body` with a scope that releases every intermediate but the returned outputs. */
function scoped(backend: tf.KernelBackend, body: (s: KernelScope) => tf.TensorInfo[]) {
  const s = new KernelScope(backend);
  let outs: tf.TensorInfo[] = [];
  try {
    outs = body(s);
    return outs;
  } finally {
    s.finish(outs);
  }
}

/**
 * Training-mode BatchNorm forward (`RelkdBatchNormTrain`, wasm): the composed chain's own wasm
 * kernels called directly (no engine, no tape, no `Cast`/`Reshape`/clones), so the same float32
 * operations in the same order: `mean = Mean(x)`, `d = x − mean`, `variance = Mean(d²)`
 * (`tf.moments`), `s = √(variance + ε)` (on the `[C]` vector in JavaScript, IEEE float32 like
 * upstream's), `out = (d / s)·γ + β`.
 *
 * Inputs `x` (float32 `[B, C]` or NHWC), `gamma`, `beta` (`[C]`); attribute `epsilon`; outputs
 * `[out, mean, variance]`.
 */
export const batchNormTrainKernel: tf.KernelFunc = (args) => {
  const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const { reduce } = geometry(x);
  return scoped(args.backend as unknown as tf.KernelBackend, (s) => {
    const mean = s.run('Mean', { x }, reduce);
    const d = s.run('Sub', { a: x, b: mean });
    const variance = s.run('Mean', { x: s.run('Square', { x: d }) }, reduce);
    const normed = s.run('RealDiv', { a: d, b: stdDev(s, variance, epsilon) });
    const out = s.run('Add', { a: s.run('Multiply', { a: normed, b: gamma }), b: beta });
    return [out, mean, variance];
  });
};

/**
 * Backward of {@link batchNormTrainKernel} (`RelkdBatchNormTrainGrad`, wasm): the gradients that
 * tfjs-core 4.22's tape computes through the composed chain on wasm, bit for bit, with the same wasm
 * kernels on the full tensors and the per-channel `[C]` steps in JavaScript float32. With
 * `d = x − mean`, `s = √(variance + ε)`, `normed = d / s` and per-channel sums `Σ` over the rows
 * (wasm `Sum`): `dβ = Σ dy`, `dγ = Σ dy·normed`, `dn = dy·γ`, `da = dn / s` (the `Sub(x, mean)`
 * branch), `dv = −(Σ dn·d / f32(s²)) / f32(s·2)` (`RealDiv`'s and `Sqrt`'s gradients),
 * `dd = f32(dv / n)·(d·2)` (`Mean`'s and `Square`'s, the `Cast` branch), `dmean = −Σ da + −Σ dd`,
 * and `dx = (da + dd) + f32(dmean / n)`: the tape adds the three contributions to `x` in reverse
 * order of their nodes (`Sub`, `Cast`, `Mean`).
 *
 * Inputs `dy`, `x`, `gamma`, `mean`, `variance` (the forward's); attribute `epsilon`; outputs
 * `[dx, dGamma, dBeta]`.
 */
export const batchNormTrainGradKernel: tf.KernelFunc = (args) => {
  const { dy, x, gamma, mean, variance } = args.inputs as Record<
    'dy' | 'x' | 'gamma' | 'mean' | 'variance',
    tf.TensorInfo
  >;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const { c, n, reduce } = geometry(x);
  return scoped(args.backend as unknown as tf.KernelBackend, (s) => {
    const d = s.run('Sub', { a: x, b: mean });
    const sd = stdDev(s, variance, epsilon);
    const dBeta = s.run('Sum', { x: dy }, reduce);
    const dGamma = s.run(
      'Sum',
      { x: s.run('Multiply', { a: dy, b: s.run('RealDiv', { a: d, b: sd }) }) },
      reduce,
    );
    const dn = s.run('Multiply', { a: dy, b: gamma });
    const da = s.run('RealDiv', { a: dn, b: sd });
    const sumDnD = s.run('Sum', { x: s.run('Multiply', { a: dn, b: d }) }, reduce);
    // Views after the allocation (the wasm heap may move when it grows).
    const dvn = s.alloc([c]);
    const sdv = view(s, sd);
    const sumv = view(s, sumDnD);
    const dvnv = view(s, dvn);
    for (let k = 0; k < c; k++) {
      const sk = sdv[k] as number;
      const ds = -f32((sumv[k] as number) / f32(sk * sk));
      dvnv[k] = f32(ds / f32(sk * 2)) / n;
    }
    const two = s.write(new Float32Array([2]), [], 'float32');
    const dd = s.run('Multiply', { a: s.run('Multiply', { a: d, b: two }), b: dvn });
    const sumDa = s.run('Sum', { x: da }, reduce);
    const sumDd = s.run('Sum', { x: dd }, reduce);
    const dx3 = s.alloc([c]);
    const a1 = view(s, sumDa);
    const a2 = view(s, sumDd);
    const o = view(s, dx3);
    for (let k = 0; k < c; k++) o[k] = f32(-(a1[k] as number) + -(a2[k] as number)) / n;
    const dx = s.run('Add', { a: s.run('Add', { a: da, b: dd }), b: dx3 });
    return [dx, dGamma, dBeta];
  });
};

/**
 * @relkd/core's training-mode BatchNorm kernels on wasm, by kernel name (`RelkdBatchNormTrain`,
 * `RelkdBatchNormTrainGrad`). Internal.
 */
export const WASM_BATCH_NORM_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  [BATCH_NORM_TRAIN]: batchNormTrainKernel,
  [BATCH_NORM_TRAIN_GRAD]: batchNormTrainGradKernel,
};
