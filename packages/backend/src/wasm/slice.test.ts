import { Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { registerWasmGradientKernels } from './registerWasmGradientKernels';

type DType = 'float32' | 'int32' | 'bool';

/** Values whose bits tell every element apart: random floats, NaN, ±0, ±Infinity, a denormal. */
function valuesOf(n: number, dtype: DType, seed: number): number[] {
  const rng = new Rng(seed);
  const specials = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40];
  return Array.from({ length: n }, (_, i) => {
    const v = 2 * rng.next() - 1;
    if (dtype === 'bool') return v > 0 ? 1 : 0;
    if (dtype === 'int32') return Math.round(v * 2 ** 30);
    return i % 11 === 5 ? (specials[i % specials.length] as number) : v * 10 ** ((i % 7) - 3);
  });
}

/** The bit patterns of float32 values (NaN payloads and the sign of zero included). */
function float32Bits(v: Float32Array): number[] {
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** The slice on the active wasm kernels, as float32 bits (or integers), with a leak check. */
function sliceBits(
  shape: number[],
  dtype: DType,
  begin: number[],
  size: number[],
): { shape: number[]; bits: number[] } {
  const be = tf.backend();
  const before = be.numDataIds();
  const n = shape.reduce((p, q) => p * q, 1);
  const x = tf.tensor(valuesOf(n, dtype, 7 + n), shape, dtype);
  const y = tf.slice(x, begin, size);
  const data = y.dataSync();
  const bits = data instanceof Float32Array ? float32Bits(data) : Array.from(data);
  const out = { shape: y.shape, bits };
  tf.dispose([x, y]);
  expect(be.numDataIds(), 'backend buffers').toBe(before);
  return out;
}

const CASES: { shape: number[]; begin: number[]; size: number[] }[] = [
  // Rows of a batch (evaluation in batches): contiguous.
  { shape: [10, 4, 4, 1], begin: [3, 0, 0, 0], size: [5, -1, -1, -1] },
  { shape: [7, 6], begin: [6, 0], size: [1, 6] },
  // Inner windows (runs shorter and longer than 16 values), every rank from 1 to 5.
  { shape: [40], begin: [3], size: [30] },
  { shape: [5, 40], begin: [1, 2], size: [3, 35] },
  { shape: [5, 9], begin: [1, 2], size: [3, 4] },
  { shape: [3, 5, 7], begin: [1, 1, 2], size: [2, 3, 4] },
  { shape: [2, 6, 5, 3], begin: [0, 1, 1, 1], size: [2, 4, 3, 2] },
  { shape: [2, 6, 5, 20], begin: [1, 2, 0, 0], size: [1, 3, -1, 18] },
  { shape: [2, 3, 4, 5, 6], begin: [1, 0, 1, 2, 1], size: [1, 3, 2, 3, 5] },
  // Size 1 along inner axes, empty slices, a scalar-like whole copy.
  { shape: [4, 5, 6], begin: [0, 4, 0], size: [4, 1, 6] },
  { shape: [4, 5], begin: [2, 0], size: [0, 5] },
  { shape: [3, 4], begin: [0, 0], size: [-1, -1] },
];

describe('wasm Slice (copied from a heap view, not from a copy of the whole input)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  describe.each(['float32', 'int32', 'bool'] as DType[])('%s', (dtype) => {
    it.each(CASES)('$shape, begin $begin, size $size: the bits of tfjs-backend-wasm and cpu', ({
      shape,
      begin,
      size,
    }) => {
      tf.setBackend('wasm');
      expect(registerWasmGradientKernels({ faster: false })).toContain('Slice');
      const upstream = sliceBits(shape, dtype, begin, size);
      expect(registerWasmGradientKernels()).toContain('Slice');
      const ours = sliceBits(shape, dtype, begin, size);
      tf.setBackend('cpu');
      const cpu = sliceBits(shape, dtype, begin, size);
      tf.setBackend('wasm');
      expect(ours).toEqual(upstream);
      expect(ours).toEqual(cpu);
    });
  });

  it('string tensors keep the original kernel', () => {
    tf.setBackend('wasm');
    const s = tf.tensor2d(['a', 'b', 'c', 'd', 'e', 'f'], [3, 2], 'string');
    const r = tf.slice(s, [1, 1], [2, 1]);
    expect(r.dataSync()).toEqual(['d', 'f']);
    tf.dispose([s, r]);
  });

  it('an out-of-range slice throws and leaks nothing', () => {
    tf.setBackend('wasm');
    const x = tf.ones([3, 4]);
    const before = tf.backend().numDataIds();
    expect(() => tf.engine().runKernel('Slice', { x }, { begin: [2, 0], size: [2, 4] })).toThrow();
    expect(tf.backend().numDataIds()).toBe(before);
    x.dispose();
  });

  it('a model evaluated in batches sees the same rows (batches of a larger set)', () => {
    tf.setBackend('wasm');
    const n = 37;
    const x = tf.tensor4d(valuesOf(n * 8 * 8, 'float32', 3), [n, 8, 8, 1]);
    const whole = x.dataSync();
    for (let i = 0; i < n; i += 10) {
      const size = Math.min(10, n - i);
      const b = tf.slice(x, i, size);
      expect(float32Bits(b.dataSync() as Float32Array)).toEqual(
        float32Bits((whole as Float32Array).subarray(i * 64, (i + size) * 64)),
      );
      b.dispose();
    }
    x.dispose();
  });
});
