import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { registerWasmGradientKernels } from './registerWasmGradientKernels';

type DType = 'float32' | 'int32' | 'bool';
const FLOATS = [1.5, -2, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e-40, 3.75, -0.5, 2.5];

/** A cast on the active wasm kernels: its values (float32 as bit patterns) and dtype; no leak. */
function castOf(values: number[], from: DType, to: DType) {
  const be = tf.backend();
  const before = be.numDataIds();
  const x = tf.tensor2d(values, [2, values.length / 2], from);
  const y = tf.cast(x, to);
  const v = y.dataSync();
  const out = {
    dtype: y.dtype,
    shape: y.shape,
    values:
      v instanceof Float32Array
        ? Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length))
        : Array.from(v),
  };
  tf.dispose([x, y]);
  expect(be.numDataIds(), 'backend buffers').toBe(before);
  return out;
}

describe('wasm Cast (a cast to the same dtype shares the buffer)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('to the same dtype: one more reference, the same values, independent lifetimes', () => {
    tf.setBackend('wasm');
    const be = tf.backend();
    const before = be.numDataIds();
    for (const [values, dtype] of [
      [FLOATS, 'float32'],
      [[1, -7, 2 ** 30, 0, 5, -1], 'int32'],
      [[1, 0, 1, 1], 'bool'],
    ] as const) {
      const x = tf.tensor2d(values as number[], [2, values.length / 2], dtype);
      const y = tf.cast(x, dtype);
      // No new buffer: the output is the input's, with one more reference.
      expect(be.numDataIds()).toBe(before + 1);
      expect(y.dtype).toBe(dtype);
      expect(y.shape).toEqual(x.shape);
      const expected = Array.from(x.dataSync());
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual(expected);
      y.dispose();
      expect(be.numDataIds()).toBe(before);
    }
  });

  it.each([
    ['float32', 'float32'],
    ['int32', 'int32'],
    ['bool', 'bool'],
    ['float32', 'int32'],
    ['float32', 'bool'],
    ['int32', 'float32'],
    ['bool', 'float32'],
    ['bool', 'int32'],
  ] as [DType, DType][])('%s -> %s: the values of tfjs-backend-wasm', (from, to) => {
    tf.setBackend('wasm');
    const values =
      from === 'float32'
        ? FLOATS.map((v) => (Number.isFinite(v) ? v : 7))
        : from === 'int32'
          ? [1, -7, 3, 0, 5, -1, 8, 2, 0, 4]
          : [1, 0, 1, 1, 0, 0, 1, 0, 1, 1];
    expect(registerWasmGradientKernels({ faster: false })).toContain('Cast');
    const upstream = castOf(values, from, to);
    expect(registerWasmGradientKernels()).toContain('Cast');
    const ours = castOf(values, from, to);
    expect(ours).toEqual(upstream);
  });

  it("the ReLU gradient (dy · cast(step(x), 'float32')) keeps its bits", () => {
    tf.setBackend('wasm');
    const x = tf.tensor1d([1.5, -2, 0, -0, Number.NaN, 3, -1e-40, 1e-40]);
    const dy = tf.tensor1d([0.25, -3, 1, -1, 2, Number.NEGATIVE_INFINITY, 5, -7]);
    const bits = () => {
      const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
      const v = g.dataSync() as Float32Array;
      const out = Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
      g.dispose();
      return out;
    };
    registerWasmGradientKernels({ faster: false });
    const upstream = bits();
    registerWasmGradientKernels();
    expect(bits()).toEqual(upstream);
    tf.dispose([x, dy]);
  });
});
