import * as tf from '@tensorflow/tfjs-core';
import { composite, KernelScope } from './kernelScope';

interface OneHotAttrs {
  depth: number;
  onValue: number;
  offValue: number;
  dtype: tf.DataType;
}

/** The kernel functions this module installed, so a second call does not wrap twice. */
const patched = new WeakSet<tf.KernelFunc>();

/**
 * A corrected `OneHot` for the wasm backend, wrapping the original kernel `original`.
 * tfjs-backend-wasm 4.22's C++ kernel always writes int32 values, also into a float32 output, so
 * `tf.oneHot(y, c, 1, 0, 'float32')` reads `1` as `1.4e-45` (the int32 bit pattern). For float32
 * the original runs as int32 with on = 1, off = 0, and the result is cast (on = 1, off = 0) or
 * `Select`ed between two filled tensors (any other values, exact). Other dtypes pass through.
 */
export function correctedOneHotKernel(original: tf.KernelFunc): tf.KernelFunc {
  const kernel: tf.KernelFunc = (args) => {
    const attrs = args.attrs as unknown as OneHotAttrs;
    if (attrs.dtype !== 'float32') return original(args);
    const { indices } = args.inputs as { indices: tf.TensorInfo };
    return composite(args.backend as tf.KernelBackend, (s) => {
      const hot = s.call(
        original,
        { indices },
        { ...attrs, dtype: 'int32', onValue: 1, offValue: 0 },
      );
      if (attrs.onValue === 1 && attrs.offValue === 0) {
        return s.run('Cast', { x: hot }, { dtype: 'float32' });
      }
      const shape = hot.shape;
      const condition = s.run('Cast', { x: hot }, { dtype: 'bool' });
      const on = s.run('Fill', [], { shape, value: attrs.onValue, dtype: 'float32' });
      const off = s.run('Fill', [], { shape, value: attrs.offValue, dtype: 'float32' });
      return s.run('Select', { condition, t: on, e: off });
    });
  };
  patched.add(kernel);
  return kernel;
}

/**
 * Whether the wasm `OneHot` kernel currently registered gives wrong float32 values: runs it once
 * on `[0]` with depth 2 (on the initialised wasm backend, outside the engine) and compares with
 * `[1, 0]`. `false` when the wasm backend is not initialised or has no `OneHot` kernel.
 */
export function wasmOneHotIsBroken(): boolean {
  const config = tf.getKernel('OneHot', 'wasm');
  const backend = wasmBackendInstance();
  if (config === undefined || backend === undefined || patched.has(config.kernelFunc)) return false;
  const s = new KernelScope(backend);
  let values: ArrayLike<number>;
  try {
    const indices = s.write(Int32Array.of(0), [1], 'int32');
    const attrs = { depth: 2, onValue: 1, offValue: 0, dtype: 'float32' };
    const out = s.call(config.kernelFunc, { indices }, attrs);
    values = backend.readSync(out.dataId) as ArrayLike<number>;
  } finally {
    s.finish();
  }
  return !(values[0] === 1 && values[1] === 0);
}

/**
 * Replaces the wasm backend's `OneHot` kernel with `correctedOneHotKernel` when its float32
 * output is wrong (tfjs-backend-wasm 4.22: `tf.oneHot(y, c, 1, 0, 'float32')` returns int32 bit
 * patterns, `1` reads as `1.4e-45`). Checks the kernel first (`wasmOneHotIsBroken`), so a
 * fixed tfjs-backend-wasm is left alone. Needs the wasm backend initialised
 * (`await tf.setBackend('wasm')`); otherwise does nothing. Idempotent. Returns whether it patched.
 *
 * `useBackend('wasm')` calls it; call it yourself only if you select the backend with
 * `tf.setBackend`.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * await tf.setBackend('wasm');
 * fixWasmOneHot();
 * tf.oneHot(tf.tensor1d([0, 1], 'int32'), 2, 1, 0, 'float32'); // [[1, 0], [0, 1]]
 * ```
 */
export function fixWasmOneHot(): boolean {
  if (!wasmOneHotIsBroken()) return false;
  const original = tf.getKernel('OneHot', 'wasm')!;
  tf.unregisterKernel('OneHot', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: correctedOneHotKernel(original.kernelFunc),
  });
  return true;
}

function wasmBackendInstance(): tf.KernelBackend | undefined {
  const registry = (tf.engine() as unknown as { registry: Record<string, tf.KernelBackend> })
    .registry;
  return registry.wasm;
}
