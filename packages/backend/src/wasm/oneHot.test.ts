import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { KernelScope } from './kernelScope';
import { correctedOneHotKernel, fixWasmOneHot, wasmOneHotIsBroken } from './oneHot';

/** tfjs-backend-wasm's own OneHot kernel, taken before `useBackend` patches it. */
const upstream = tf.getKernel('OneHot', 'wasm')!.kernelFunc;

/** `tf.oneHot` on `backend`; returns its values and dtype. */
function oneHotOn(
  backend: 'cpu' | 'wasm',
  indices: number[] | number[][],
  depth: number,
  on: number,
  off: number,
  dtype: 'float32' | 'int32',
) {
  tf.setBackend(backend);
  const y = tf.tensor(indices, undefined, 'int32');
  const out = tf.oneHot(y, depth, on, off, dtype);
  const result = { values: Array.from(out.dataSync()), shape: out.shape, dtype: out.dtype };
  tf.dispose([y, out]);
  return result;
}

describe('wasm OneHot (tfjs-backend-wasm 4.22 writes int32 bits into float32 outputs)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    await useBackend('wasm');
  });

  it('repro: the upstream kernel returns int32 bit patterns for float32 (1 reads as 1.4e-45)', () => {
    const backend = tf.findBackend('wasm')!;
    const s = new KernelScope(backend);
    try {
      const indices = s.write(Int32Array.of(0, 1), [2], 'int32');
      const attrs = { depth: 2, onValue: 1, offValue: 0, dtype: 'float32' };
      const out = s.call(upstream, { indices }, attrs);
      const values = Array.from(backend.readSync(out.dataId) as Float32Array);
      const oneAsInt32Bits = new Float32Array(Int32Array.of(1).buffer)[0]; // 1.4e-45
      expect(values[0]).toBe(oneAsInt32Bits);
      expect(values.slice(1, 3)).toEqual([0, 0]);
    } finally {
      s.finish();
    }
  });

  it('useBackend("wasm") installs the corrected kernel; the check then passes and a second fix is a no-op', () => {
    expect(tf.getKernel('OneHot', 'wasm')!.kernelFunc).not.toBe(upstream);
    expect(wasmOneHotIsBroken()).toBe(false);
    expect(fixWasmOneHot()).toBe(false);
  });

  const cases: Array<[string, number[] | number[][], number, number, number]> = [
    ['labels, on 1 off 0', [0, 2, 1, 2], 3, 1, 0],
    ['label smoothing values', [1, 0, 3], 4, 0.9, 0.1 / 3],
    ['negative and large values', [0, 1], 2, -5.5, 1e30],
    ['out-of-range and negative indices give off rows', [-1, 3, 1], 3, 1, 0],
    [
      'rank-2 indices',
      [
        [0, 1],
        [2, 0],
      ],
      3,
      2,
      -1,
    ],
    ['non-finite on/off', [1, 0], 2, Number.POSITIVE_INFINITY, Number.NaN],
  ];
  it.each(cases)('float32 equals the cpu backend: %s', (_, indices, depth, on, off) => {
    const cpu = oneHotOn('cpu', indices, depth, on, off, 'float32');
    const wasm = oneHotOn('wasm', indices, depth, on, off, 'float32');
    expect(wasm.dtype).toBe('float32');
    expect(wasm.shape).toEqual(cpu.shape);
    expect(wasm.values).toEqual(cpu.values);
  });

  it('int32 output is unchanged (the upstream kernel)', () => {
    const cpu = oneHotOn('cpu', [0, 2, 1], 3, 1, 0, 'int32');
    const wasm = oneHotOn('wasm', [0, 2, 1], 3, 1, 0, 'int32');
    expect(wasm).toEqual(cpu);
  });

  it('releases every intermediate buffer', () => {
    tf.setBackend('wasm');
    const be = tf.backend();
    const y = tf.tensor1d([0, 1, 2], 'int32');
    const tensors = tf.memory().numTensors;
    const buffers = be.numDataIds();
    for (const [on, off] of [
      [1, 0],
      [0.9, 0.05],
    ] as const) {
      const out = tf.oneHot(y, 3, on, off, 'float32');
      expect(out.dataSync()[0]).toBeCloseTo(on, 6);
      out.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(be.numDataIds()).toBe(buffers);
    y.dispose();
  });

  it('wrapping a correct kernel changes nothing: correctedOneHotKernel of the fixed kernel agrees', () => {
    const backend = tf.findBackend('wasm')!;
    const fixed = correctedOneHotKernel(upstream);
    const s = new KernelScope(backend);
    try {
      const indices = s.write(Int32Array.of(1, 0), [2], 'int32');
      const attrs = { depth: 2, onValue: 3, offValue: -1, dtype: 'float32' };
      const once = s.call(fixed, { indices }, attrs);
      const twice = s.call(correctedOneHotKernel(fixed), { indices }, attrs);
      const a = Array.from(backend.readSync(once.dataId) as Float32Array);
      const b = Array.from(backend.readSync(twice.dataId) as Float32Array);
      expect(a).toEqual([-1, 3, 3, -1]);
      expect(b).toEqual(a);
    } finally {
      s.finish();
    }
  });
});
