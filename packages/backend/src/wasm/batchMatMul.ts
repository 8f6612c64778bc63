import type * as tf from '@tensorflow/tfjs-core';
import { composite } from './kernelScope';

/**
 * A faster `BatchMatMul` for the wasm backend, wrapping tfjs-backend-wasm's own kernel `original`.
 * tfjs-backend-wasm 4.22 multiplies 5-15x slower when `transposeA` or `transposeB` is set (every
 * matmul gradient, every Gram matrix `X·Xᵀ`) than without; this wrapper transposes the flagged
 * operand explicitly (one `Transpose` of its last two axes) and calls `original` with both flags
 * false. Same values (the same products and sums), one operand-sized temporary more.
 */
export function batchMatMulKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    if (!transposeA && !transposeB) return original(args);
    return composite(backend as tf.KernelBackend, (s) => {
      const flip = (t: tf.TensorInfo) => {
        const perm = t.shape.map((_, i) => i);
        const last = perm.length - 1;
        [perm[last - 1], perm[last]] = [last, last - 1];
        return s.run('Transpose', { x: t }, { perm });
      };
      const a2 = transposeA ? flip(a) : a;
      const b2 = transposeB ? flip(b) : b;
      return s.call(
        original,
        { a: a2, b: b2 },
        { ...(attrs as Record<string, unknown>), transposeA: false, transposeB: false },
      );
    });
  };
}
