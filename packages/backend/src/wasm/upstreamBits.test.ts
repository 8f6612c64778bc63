import { Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { registerWasmGradientKernels } from './registerWasmGradientKernels';

/**
 * `Sum`, `Mean`, `Transpose` and `RealDiv` on wasm: @relkd/backend's replacements against
 * tfjs-backend-wasm's own kernels (restored with `registerWasmGradientKernels({ faster: false })`),
 * compared bit for bit (the float32 bit patterns, not a tolerance), on the fast paths and on the
 * cases that fall back to upstream.
 */

type Input = { shape: number[]; values: Float32Array | Int32Array; dtype: 'float32' | 'int32' };

/** Pseudo-random float32 values with mixed magnitudes (addition order shows in the last bits). */
function floats(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 2 * rng.next() - 1;
    v[i] = i % 5 === 0 ? u * 3e4 : i % 3 === 0 ? u * 1e-3 : u;
  }
  return v;
}

/**
 * Runs `kernel` on wasm with our kernels, then with upstream's; returns both outputs' bits. Ours
 * runs first: upstream's output buffer, once freed, could be handed to ours by the wasm allocator
 * and hide an element ours never writes.
 */
function bothWays(kernel: string, inputs: Record<string, Input>, attrs: object) {
  const run = () => {
    const be = tf.backend();
    const before = tf.memory().numTensors;
    const dataBefore = be.numDataIds();
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ins[k] = tf.tensor(v.values, v.shape, v.dtype);
    const out = tf.engine().runKernel(kernel, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
    const data = out.dataSync();
    const bits = Array.from(
      data instanceof Float32Array
        ? new Uint32Array(data.buffer, data.byteOffset, data.length)
        : data,
    );
    const result = { shape: out.shape, dtype: out.dtype, bits };
    tf.dispose([out, ...Object.values(ins)]);
    expect(tf.memory().numTensors, `${kernel}: engine tensors`).toBe(before);
    expect(be.numDataIds(), `${kernel}: backend buffers`).toBe(dataBefore);
    return result;
  };
  registerWasmGradientKernels();
  const ours = run();
  registerWasmGradientKernels({ faster: false });
  const upstream = run();
  registerWasmGradientKernels();
  return { upstream, ours };
}

function expectSameBits(kernel: string, inputs: Record<string, Input>, attrs: object) {
  const { upstream, ours } = bothWays(kernel, inputs, attrs);
  expectEqualBits(ours, upstream);
  return ours;
}

function expectEqualBits(
  ours: { shape: number[]; dtype: string; bits: number[] },
  upstream: typeof ours,
) {
  expect(ours.shape).toEqual(upstream.shape);
  expect(ours.dtype).toBe(upstream.dtype);
  const differing = ours.bits.findIndex((b, i) => b !== upstream.bits[i]);
  expect(differing, `first differing element of ${ours.bits.length}`).toBe(-1);
  expect(ours.bits.length).toBe(upstream.bits.length);
}

const f32 = (shape: number[], seed: number): Input => ({
  shape,
  values: floats(
    shape.reduce((p, q) => p * q, 1),
    seed,
  ),
  dtype: 'float32',
});

describe('wasm Sum, Mean, Transpose and RealDiv give tfjs-backend-wasm’s bits', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterAll(() => {
    registerWasmGradientKernels();
  });

  it.each([
    // Fast path: consecutive ascending axes followed by kept axes.
    { shape: [64, 14, 14, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [3, 5, 7, 19], axis: [0, 1, 2], keepDims: true },
    { shape: [2, 5, 6, 8], axis: [1, 2], keepDims: false },
    { shape: [4, 3, 5, 6], axis: [1, 2], keepDims: true },
    { shape: [64, 4, 4, 64], axis: [1, 2], keepDims: false },
    { shape: [4, 3, 5], axis: [0, 1], keepDims: false },
    { shape: [9, 13], axis: [0], keepDims: false },
    { shape: [4, 3, 5], axis: [-3, -2], keepDims: false },
    { shape: [2, 3, 4, 5], axis: [1], keepDims: false },
    // Upstream: last axis, another order, not consecutive, empty, rank 1.
    { shape: [4, 6], axis: [1], keepDims: true },
    { shape: [2, 5, 6, 8], axis: [2, 0, 1], keepDims: false },
    { shape: [2, 5, 6, 8], axis: [0, 2], keepDims: false },
    { shape: [0, 4], axis: [0], keepDims: false },
    { shape: [7], axis: [0], keepDims: false },
  ])('Mean of $shape over $axis (keepDims $keepDims)', ({ shape, axis, keepDims }) => {
    expectSameBits('Mean', { x: f32(shape, 11) }, { axis, keepDims });
  });

  it.each([
    { shape: [64, 14, 14, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [64, 7, 7, 32], axis: [0, 1, 2], keepDims: false },
    { shape: [64, 4, 4, 64], axis: [0, 1, 2], keepDims: true },
    { shape: [3, 5, 7, 27], axis: [0, 1, 2], keepDims: false },
    { shape: [50, 40], axis: [0], keepDims: false },
    { shape: [2, 5, 6, 8], axis: [2, 0, 1], keepDims: true },
    { shape: [2, 5, 6, 8], axis: [1, 2], keepDims: false },
    { shape: [4, 3, 5, 6], axis: [1, 2], keepDims: true },
    { shape: [64, 4, 4, 64], axis: [1, 2], keepDims: false },
    { shape: [4, 3, 5], axis: [0, 1], keepDims: false },
    { shape: [2, 3, 4, 5], axis: [1], keepDims: false },
    // Upstream: last axis, not consecutive.
    { shape: [4, 6], axis: [1], keepDims: true },
    { shape: [2, 5, 6, 8], axis: [0, 2], keepDims: false },
  ])('Sum of $shape over $axis (keepDims $keepDims)', ({ shape, axis, keepDims }) => {
    expectSameBits('Sum', { x: f32(shape, 16) }, { axis, keepDims });
  });

  it('Mean propagates NaN and infinities like upstream', () => {
    const x = f32([6, 5, 9], 12);
    x.values[3] = Number.NaN;
    x.values[9 + 4] = Number.POSITIVE_INFINITY;
    x.values[18 + 4] = Number.NEGATIVE_INFINITY;
    x.values[5] = Number.POSITIVE_INFINITY;
    expectSameBits('Mean', { x }, { axis: [0, 1], keepDims: false });
  });

  it.each([
    // Fast path: the last two axes swapped, output rows a multiple of 256 values, ≥ 16 columns.
    { shape: [1024, 64], perm: [1, 0], dtype: 'float32' as const },
    { shape: [512, 33], perm: [1, 0], dtype: 'float32' as const },
    { shape: [2, 256, 20], perm: [0, 2, 1], dtype: 'float32' as const },
    { shape: [768, 16], perm: [1, 0], dtype: 'int32' as const },
    // Upstream.
    { shape: [1000, 64], perm: [1, 0], dtype: 'float32' as const },
    { shape: [4096, 8], perm: [1, 0], dtype: 'float32' as const },
    { shape: [64, 28, 28, 8], perm: [1, 2, 0, 3], dtype: 'float32' as const },
    { shape: [256, 2, 32], perm: [1, 0, 2], dtype: 'float32' as const },
  ])('Transpose $dtype $shape by $perm', ({ shape, perm, dtype }) => {
    const x = f32(shape, 13);
    const input: Input =
      dtype === 'int32'
        ? { shape, dtype, values: Int32Array.from(x.values, (v) => Math.round(v * 1e4)) }
        : x;
    const ours = expectSameBits('Transpose', { x: input }, { perm });
    // And the permutation itself, element by element (independent of either kernel).
    const outShape = perm.map((p) => shape[p] as number);
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
    const raw =
      input.values instanceof Float32Array
        ? new Uint32Array(input.values.buffer)
        : Array.from(input.values);
    const ref: number[] = [];
    const idx = outShape.map(() => 0);
    for (let o = 0; o < ours.bits.length; o++) {
      ref.push(
        raw[
          idx.reduce((acc, v, d) => acc + v * (strides[perm[d] as number] as number), 0)
        ] as number,
      );
      for (let d = outShape.length - 1; d >= 0; d--) {
        idx[d] = (idx[d] as number) + 1;
        if ((idx[d] as number) < (outShape[d] as number)) break;
        idx[d] = 0;
      }
    }
    expectEqualBits(ours, { ...ours, bits: ref });
  });

  it.each([
    // Fast path: a vector along the last axis as the divisor.
    { a: [64, 14, 14, 16], b: [16] },
    { a: [64, 7, 7, 8], b: [1, 1, 1, 8] },
    { a: [64, 8], b: [8] },
    // Upstream: the vector as the dividend, no tiling, same shapes, a scalar.
    { a: [16], b: [64, 4, 4, 16] },
    { a: [7, 5, 3], b: [3] },
    { a: [64, 4, 4, 32], b: [64, 4, 4, 32] },
    { a: [64, 4, 4, 32], b: [] },
  ])('RealDiv $a / $b', ({ a, b }) => {
    const den = f32(b, 15);
    // Zeros and a NaN in the divisor: ±Infinity and NaN outputs.
    if (den.values.length > 2) {
      den.values[0] = 0;
      den.values[1] = Number.NaN;
    }
    expectSameBits('RealDiv', { a: f32(a, 14), b: den }, {});
  });
});
