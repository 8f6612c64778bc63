import { Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import {
  type DepthwiseFilterGeometry,
  depthwiseFilterGradPlain,
  depthwiseFilterGradRows,
} from './depthwiseConv2dNativeBackpropFilter';

type Pad =
  | 'same'
  | 'valid'
  | [[number, number], [number, number], [number, number], [number, number]];

/**
 * Float32 values whose float64 sums depend on the order of the additions: random signs and
 * mantissas, exponents over 2^-30 .. 2^30, some exact zeros.
 */
function awkward(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (rng.next() < 0.03) continue;
    const sign = rng.next() < 0.5 ? -1 : 1;
    out[i] = sign * (1 + rng.next()) * 2 ** Math.floor(rng.next() * 61 - 30);
  }
  return out;
}

interface Case {
  name: string;
  x: [number, number, number, number];
  f: [number, number];
  stride: number | [number, number];
  dilation?: number | [number, number];
  pad: Pad;
}

// CORSD's relation-network separable convolutions on the MNIST student (pairs of batch 64: 128
// rows, 3 x 3 filters, padding 1), then odd sizes: channel counts that are not multiples of 4,
// strides, dilations, asymmetric and 'same'/'valid' padding, filters wider than the image.
const CASES: Case[] = [
  {
    name: 'CORSD [128, 4, 4, 64] s1',
    x: [128, 4, 4, 64],
    f: [3, 3],
    stride: 1,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: 'CORSD [128, 7, 7, 64] s2',
    x: [128, 7, 7, 64],
    f: [3, 3],
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: 'CORSD [128, 14, 14, 16] s2',
    x: [128, 14, 14, 16],
    f: [3, 3],
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: 'CORSD [128, 7, 7, 16] s1',
    x: [128, 7, 7, 16],
    f: [3, 3],
    stride: 1,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { name: 'odd channels [3, 9, 7, 7] same', x: [3, 9, 7, 7], f: [3, 3], stride: 1, pad: 'same' },
  { name: 'one channel [2, 6, 5, 1] valid', x: [2, 6, 5, 1], f: [2, 3], stride: 1, pad: 'valid' },
  { name: 'strides [2, 3], 5 channels', x: [2, 11, 10, 5], f: [3, 2], stride: [2, 3], pad: 'same' },
  {
    name: 'dilation 2, 6 channels',
    x: [2, 9, 8, 6],
    f: [3, 3],
    stride: 1,
    dilation: 2,
    pad: 'same',
  },
  {
    name: 'dilation [3, 2], stride 2',
    x: [1, 12, 11, 9],
    f: [2, 3],
    stride: 2,
    dilation: [3, 2],
    pad: 'valid',
  },
  {
    name: 'asymmetric padding',
    x: [2, 5, 6, 4],
    f: [3, 3],
    stride: 1,
    pad: [
      [0, 0],
      [0, 2],
      [2, 1],
      [0, 0],
    ],
  },
  {
    name: 'filter wider than the image',
    x: [2, 3, 2, 3],
    f: [5, 5],
    stride: 1,
    pad: [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ],
  },
];

function geometryOf(c: Case): DepthwiseFilterGeometry {
  const g = tf.backend_util.computeConv2DInfo(
    c.x,
    [c.f[0], c.f[1], c.x[3], 1],
    c.stride,
    c.dilation ?? 1,
    c.pad as 'same',
    undefined,
    true,
  );
  return { ...g, mult: 1 };
}

/** Whether two float64 arrays hold the same bits (+0 / -0 told apart). */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

describe('depthwise filter gradient, multiplier 1: the row-wise loop against the plain loop', () => {
  it.each(CASES)('$name: bit-identical float64 sums', (c) => {
    const g = geometryOf(c);
    const x = awkward(
      c.x.reduce((a, b) => a * b),
      1,
    );
    const dy = awkward(g.batchSize * g.outHeight * g.outWidth * g.inChannels, 2);
    const size = g.filterHeight * g.filterWidth * g.inChannels;
    const plain = new Float64Array(size);
    const rows = new Float64Array(size);
    depthwiseFilterGradPlain(x, dy, g, plain);
    depthwiseFilterGradRows(x, dy, g, rows);
    expect(sameBits(rows, plain)).toBe(true);

    // The data tells addition orders apart: the batch taken in reverse order gives other bits.
    if (g.batchSize > 1 && c.x[0] >= 2 && c.x[3] >= 4) {
      const n = g.batchSize;
      const perImageX = x.length / n;
      const perImageDy = dy.length / n;
      const revX = new Float32Array(x.length);
      const revDy = new Float32Array(dy.length);
      for (let b = 0; b < n; b++) {
        revX.set(x.subarray((n - 1 - b) * perImageX, (n - b) * perImageX), b * perImageX);
        revDy.set(dy.subarray((n - 1 - b) * perImageDy, (n - b) * perImageDy), b * perImageDy);
      }
      const reversed = new Float64Array(size);
      depthwiseFilterGradPlain(revX, revDy, g, reversed);
      expect(sameBits(reversed, plain)).toBe(false);
    }
  });
});

describe('DepthwiseConv2dNativeBackpropFilter on wasm (multiplier 1)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each(CASES)('$name: the kernel gives the plain loop rounded once to float32', (c) => {
    const g = geometryOf(c);
    const xv = awkward(
      c.x.reduce((a, b) => a * b),
      3,
    );
    const dyv = awkward(g.batchSize * g.outHeight * g.outWidth * g.inChannels, 4);
    const filterShape: [number, number, number, number] = [c.f[0], c.f[1], c.x[3], 1];
    const x = tf.tensor4d(xv, c.x);
    const dy = tf.tensor4d(dyv, [g.batchSize, g.outHeight, g.outWidth, g.inChannels]);
    const out = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
      strides: c.stride,
      pad: c.pad,
      dilations: c.dilation ?? 1,
      filterShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const plain = new Float64Array(filterShape.reduce((a, b) => a * b));
    depthwiseFilterGradPlain(xv, dyv, g, plain);
    const expected = new Uint32Array(Float32Array.from(plain).buffer);
    const actual = new Uint32Array(new Float32Array(out.dataSync()).buffer);
    expect(out.shape).toEqual(filterShape);
    expect(Array.from(actual)).toEqual(Array.from(expected));
    tf.dispose([x, dy, out]);
  });
});
