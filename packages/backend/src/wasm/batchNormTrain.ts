import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './wasmHeap';

const f32 = Math.fround;

interface Geometry {
  /** Channels (last axis). */
  c: number;
  /** Rows: `x.size / c`. */
  n: number;
}

function geometry(x: tf.TensorInfo): Geometry {
  const c = x.shape[x.shape.length - 1] as number;
  return { c, n: tf.util.sizeFromShape(x.shape) / c };
}

/** `s[k] = f32(√f32(variance[k] + f32(ε)))`, as `tf.sqrt(tf.add(variance, ε))` on wasm. */
function stdDev(variance: Float32Array, epsilon: number): Float32Array {
  const eps = f32(epsilon);
  const s = new Float32Array(variance.length);
  for (let k = 0; k < s.length; k++) s[k] = Math.sqrt(f32((variance[k] as number) + eps));
  return s;
}

/**
 * Training-mode BatchNorm forward (`RelkdBatchNormTrain`, wasm) with the float32 arithmetic of the
 * composed chain on tfjs-backend-wasm 4.22 with @relkd/backend's reductions: per channel `k`, over
 * the `n` rows in order from 0, `mean = f32(Σ x) / n`, `d = x − mean`, `variance = f32(Σ f32(d²)) / n`
 * (`tf.moments`: `Mean`, `Sub`, `Square`, `Mean`), `s = √(variance + ε)`,
 * `out = f32(f32(d / s)·γ) + β`; every sum adds in float32 from 0 row after row (as
 * {@link sumColumns}), every operation is rounded to float32.
 *
 * Inputs `x` (`[n, C]` viewed, float32), `gamma`, `beta` (`[C]`); attribute `epsilon`; outputs
 * `[out, mean, variance]`.
 */
export const batchNormTrainKernel: tf.KernelFunc = (args) => {
  const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const be = args.backend as unknown as WasmHeapBackend;
  const { c, n } = geometry(x);
  const outInfo = be.makeOutput(x.shape.slice(), 'float32');
  const meanInfo = be.makeOutput([c], 'float32');
  const varInfo = be.makeOutput([c], 'float32');
  // Views after every allocation (the heap may have grown and moved).
  const xv = be.typedArrayFromHeap(x) as Float32Array;
  const g = be.typedArrayFromHeap(gamma) as Float32Array;
  const b = be.typedArrayFromHeap(beta) as Float32Array;
  const out = be.typedArrayFromHeap(outInfo) as Float32Array;
  const mean = be.typedArrayFromHeap(meanInfo) as Float32Array;
  const variance = be.typedArrayFromHeap(varInfo) as Float32Array;
  const size = n * c;
  // Float32Array accumulators: each store rounds to float32, as upstream's float accumulator.
  mean.fill(0);
  for (let r = 0; r < size; r += c)
    for (let k = 0; k < c; k++) mean[k] = (mean[k] as number) + (xv[r + k] as number);
  for (let k = 0; k < c; k++) mean[k] = (mean[k] as number) / n;
  variance.fill(0);
  for (let r = 0; r < size; r += c) {
    for (let k = 0; k < c; k++) {
      const d = f32((xv[r + k] as number) - (mean[k] as number));
      variance[k] = (variance[k] as number) + f32(d * d);
    }
  }
  for (let k = 0; k < c; k++) variance[k] = (variance[k] as number) / n;
  const s = stdDev(variance, epsilon);
  for (let r = 0; r < size; r += c) {
    for (let k = 0; k < c; k++) {
      const d = f32((xv[r + k] as number) - (mean[k] as number));
      const normed = f32(d / (s[k] as number));
      out[r + k] = f32(normed * (g[k] as number)) + (b[k] as number);
    }
  }
  return [outInfo, meanInfo, varInfo];
};

/**
 * Backward of {@link batchNormTrainKernel} (`RelkdBatchNormTrainGrad`, wasm): the gradients that
 * tfjs-core 4.22's tape computes through the composed chain on wasm, bit for bit. Per channel, with
 * `d = x − mean`, `s = √(variance + ε)`, `normed = d / s` and sums in float32 over the rows in order:
 * `dβ = Σ dy`, `dγ = Σ f32(dy·normed)`, `dn = dy·γ`, `da = dn / s` (the `Sub(x, mean)` branch),
 * `dv = −(Σ f32(dn·d) / f32(s²)) / f32(s·2)` (`RealDiv`'s and `Sqrt`'s gradients),
 * `dd = f32(dv / n)·f32(d·2)` (`Mean`'s and `Square`'s gradients, the `Cast` branch),
 * `dmean = −Σ da + −Σ dd`, and `dx = f32(da + dd) + f32(dmean / n)`: the tape adds the three
 * contributions to `x` in reverse order of their nodes (`Sub`, `Cast`, `Mean`), each operation
 * rounded to float32.
 *
 * Inputs `dy`, `x` (`[n, C]` viewed), `gamma`, `mean`, `variance` (`[C]`); attribute `epsilon`;
 * outputs `[dx, dGamma, dBeta]`.
 */
export const batchNormTrainGradKernel: tf.KernelFunc = (args) => {
  const inputs = args.inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', tf.TensorInfo>;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const be = args.backend as unknown as WasmHeapBackend;
  const { c, n } = geometry(inputs.x);
  const dxInfo = be.makeOutput(inputs.x.shape.slice(), 'float32');
  const dgInfo = be.makeOutput([c], 'float32');
  const dbInfo = be.makeOutput([c], 'float32');
  const dy = be.typedArrayFromHeap(inputs.dy) as Float32Array;
  const xv = be.typedArrayFromHeap(inputs.x) as Float32Array;
  const g = be.typedArrayFromHeap(inputs.gamma) as Float32Array;
  const mean = be.typedArrayFromHeap(inputs.mean) as Float32Array;
  const variance = be.typedArrayFromHeap(inputs.variance) as Float32Array;
  const dx = be.typedArrayFromHeap(dxInfo) as Float32Array;
  const dGamma = be.typedArrayFromHeap(dgInfo) as Float32Array;
  const dBeta = be.typedArrayFromHeap(dbInfo) as Float32Array;
  const size = n * c;
  const s = stdDev(variance, epsilon);
  const sumDnD = new Float32Array(c);
  const sumDa = new Float32Array(c);
  dGamma.fill(0);
  dBeta.fill(0);
  // Pass 1: dβ, dγ, Σ dn·d, Σ da; dx holds da.
  for (let r = 0; r < size; r += c) {
    for (let k = 0; k < c; k++) {
      const i = r + k;
      const gy = dy[i] as number;
      const d = f32((xv[i] as number) - (mean[k] as number));
      const sk = s[k] as number;
      dBeta[k] = (dBeta[k] as number) + gy;
      dGamma[k] = (dGamma[k] as number) + f32(gy * f32(d / sk));
      const dn = f32(gy * (g[k] as number));
      sumDnD[k] = (sumDnD[k] as number) + f32(dn * d);
      const da = f32(dn / sk);
      sumDa[k] = (sumDa[k] as number) + da;
      dx[i] = da;
    }
  }
  // dv / n per channel.
  const dvn = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const sk = s[k] as number;
    const ds = -f32((sumDnD[k] as number) / f32(sk * sk));
    dvn[k] = f32(ds / f32(sk * 2)) / n;
  }
  // Pass 2: dd, Σ dd; dx holds da + dd.
  const sumDd = new Float32Array(c);
  for (let r = 0; r < size; r += c) {
    for (let k = 0; k < c; k++) {
      const i = r + k;
      const d = f32((xv[i] as number) - (mean[k] as number));
      const dd = f32((dvn[k] as number) * f32(d * 2));
      sumDd[k] = (sumDd[k] as number) + dd;
      dx[i] = (dx[i] as number) + dd;
    }
  }
  const dx3 = new Float32Array(c);
  for (let k = 0; k < c; k++) dx3[k] = f32(-(sumDa[k] as number) + -(sumDd[k] as number)) / n;
  // Pass 3: + dmean / n.
  for (let r = 0; r < size; r += c)
    for (let k = 0; k < c; k++) dx[r + k] = (dx[r + k] as number) + (dx3[k] as number);
  return [dxInfo, dgInfo, dbInfo];
};

/**
 * @relkd/core's training-mode BatchNorm kernels on wasm, by kernel name (`RelkdBatchNormTrain`,
 * `RelkdBatchNormTrainGrad`). Internal.
 */
export const WASM_BATCH_NORM_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  [BATCH_NORM_TRAIN]: batchNormTrainKernel,
  [BATCH_NORM_TRAIN_GRAD]: batchNormTrainGradKernel,
};
