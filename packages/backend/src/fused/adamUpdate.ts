import * as tf from '@tensorflow/tfjs-core';
import { KernelScope } from '../wasm/kernelScope';
import { hostOutputs, hostValues } from './hostMemory';

const f32 = Math.fround;

/**
 * The `RelkdAdam` kernel (contract: `FUSED_ADAM` in `@relkd/core/internal`): one variable's Adam
 * update in one pass over host memory, `[value', m', v']` from `value`, `m`, `v`, `gradient` and the
 * scalars `accBeta1 = β₁ᵗ`, `accBeta2 = β₂ᵗ`. Every operation is rounded to float32 in tfjs'
 * `AdamOptimizer` order (`Math.fround` of the exact double result: the correctly rounded float32
 * result for `+ − × ÷ √`), so the outputs are bit-identical to `tf.train.adam`'s composed kernels.
 *
 * On wasm, variables of more than {@link WASM_JS_ADAM_MAX} values run tfjs' own sequence of wasm
 * kernels instead (the same operations, so the same bits): XNNPACK's SIMD element-wise kernels beat
 * the JavaScript pass there (1.2 ms against 0.43 ms for 100 k values), while below it the
 * per-kernel cost dominates (0.12 ms against 0.61 ms for 1 k values).
 */
export const adamUpdateKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, m, v, gradient, accBeta1, accBeta2 } = inputs as Record<string, tf.TensorInfo>;
  const { learningRate, beta1, beta2, epsilon } = attrs as unknown as Record<string, number>;
  const be = backend as tf.KernelBackend;
  const shape = (value as tf.TensorInfo).shape.slice();
  if (isWasm(be) && tf.util.sizeFromShape(shape) > WASM_JS_ADAM_MAX) {
    const acc1 = hostValues(be, accBeta1 as tf.TensorInfo)[0] as number;
    const acc2 = hostValues(be, accBeta2 as tf.TensorInfo)[0] as number;
    return adamOnWasmKernels(
      be,
      value as tf.TensorInfo,
      m as tf.TensorInfo,
      v as tf.TensorInfo,
      gradient as tf.TensorInfo,
      {
        b1: f32(beta1 as number),
        c1: f32(1 - (beta1 as number)),
        b2: f32(beta2 as number),
        c2: f32(1 - (beta2 as number)),
        d1: f32(1 - acc1),
        d2: f32(1 - acc2),
        eps: f32(epsilon as number),
        step: f32(-(learningRate as number)),
      },
    );
  }
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

/** Above this many values per variable, wasm runs the update as tfjs' element-wise kernels. */
export const WASM_JS_ADAM_MAX = 16_384;

function isWasm(backend: tf.KernelBackend): boolean {
  return (
    typeof (backend as unknown as { typedArrayFromHeap?: unknown }).typedArrayFromHeap ===
    'function'
  );
}

/** The float32 scalars of one Adam step, as tfjs makes them. */
interface AdamScalars {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  d1: number;
  d2: number;
  eps: number;
  step: number;
}

/**
 * `tf.train.adam`'s operations for one variable, as direct calls of the wasm kernels (no engine,
 * no tape): `[value', m', v']`, bit-identical to the composed ops.
 */
function adamOnWasmKernels(
  backend: tf.KernelBackend,
  value: tf.TensorInfo,
  m: tf.TensorInfo,
  v: tf.TensorInfo,
  g: tf.TensorInfo,
  k: AdamScalars,
): tf.TensorInfo[] {
  const s = new KernelScope(backend);
  let outs: tf.TensorInfo[] = [];
  try {
    const c = (x: number) => s.write(Float32Array.of(x), [], 'float32');
    const mul = (a: tf.TensorInfo, b: tf.TensorInfo) => s.run('Multiply', { a, b });
    const add = (a: tf.TensorInfo, b: tf.TensorInfo) => s.run('Add', { a, b });
    const div = (a: tf.TensorInfo, b: tf.TensorInfo) => s.run('RealDiv', { a, b });
    const m1 = add(mul(m, c(k.b1)), mul(g, c(k.c1)));
    const v1 = add(mul(v, c(k.b2)), mul(s.run('Square', { x: g }), c(k.c2)));
    const mHat = div(m1, c(k.d1));
    const vHat = div(v1, c(k.d2));
    const ratio = div(mHat, add(s.run('Sqrt', { x: vHat }), c(k.eps)));
    outs = [add(mul(ratio, c(k.step)), value), m1, v1];
    return outs;
  } finally {
    s.finish(outs);
  }
}
