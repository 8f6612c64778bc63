import type * as tf from '@tensorflow/tfjs-core';
import { hostOutputs, hostValues } from './hostMemory';

const f32 = Math.fround;

/**
 * The `RelkdAdam` kernel (contract: `FUSED_ADAM` in `@relkd/core/internal`): one variable's Adam
 * update in one pass over host memory, `[value', m', v']` from `value`, `m`, `v`, `gradient` and the
 * scalars `accBeta1 = β₁ᵗ`, `accBeta2 = β₂ᵗ`. Every operation is rounded to float32 in tfjs'
 * `AdamOptimizer` order (`Math.fround` of the exact double result: the correctly rounded float32
 * result for `+ − × ÷ √`), so the outputs are bit-identical to `tf.train.adam`'s composed kernels.
 */
export const adamUpdateKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, m, v, gradient, accBeta1, accBeta2 } = inputs as Record<string, tf.TensorInfo>;
  const { learningRate, beta1, beta2, epsilon } = attrs as unknown as Record<string, number>;
  const be = backend as tf.KernelBackend;
  const shape = (value as tf.TensorInfo).shape.slice();
  return hostOutputs(be, [shape, shape, shape], ([nv, nm, nvv]) => {
    // Input views after the allocation (the wasm heap may have grown and moved).
    const x = hostValues(be, value as tf.TensorInfo);
    const m0 = hostValues(be, m as tf.TensorInfo);
    const v0 = hostValues(be, v as tf.TensorInfo);
    const g = hostValues(be, gradient as tf.TensorInfo);
    // Scalars as tfjs makes them: float32 tensors of the JavaScript numbers.
    const b1 = f32(beta1 as number);
    const c1 = f32(1 - (beta1 as number));
    const b2 = f32(beta2 as number);
    const c2 = f32(1 - (beta2 as number));
    const d1 = f32(1 - (hostValues(be, accBeta1 as tf.TensorInfo)[0] as number));
    const d2 = f32(1 - (hostValues(be, accBeta2 as tf.TensorInfo)[0] as number));
    const eps = f32(epsilon as number);
    const step = f32(-(learningRate as number));
    adamInto(
      x as Float32Array,
      m0 as Float32Array,
      v0 as Float32Array,
      g as Float32Array,
      nv as Float32Array,
      nm as Float32Array,
      nvv as Float32Array,
      b1,
      c1,
      b2,
      c2,
      d1,
      d2,
      eps,
      step,
    );
  });
};

/** The element-wise update (float32 rounding after every operation). */
function adamInto(
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  outX: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  b1: number,
  c1: number,
  b2: number,
  c2: number,
  d1: number,
  d2: number,
  eps: number,
  step: number,
): void {
  for (let i = 0; i < x.length; i++) {
    const gi = g[i] as number;
    const mi = f32(f32((m[i] as number) * b1) + f32(gi * c1));
    const vi = f32(f32((v[i] as number) * b2) + f32(f32(gi * gi) * c2));
    const mHat = f32(mi / d1);
    const vHat = f32(vi / d2);
    const ratio = f32(mHat / f32(f32(Math.sqrt(vHat)) + eps));
    outX[i] = f32(ratio * step) + (x[i] as number);
    outM[i] = mi;
    outV[i] = vi;
  }
}
