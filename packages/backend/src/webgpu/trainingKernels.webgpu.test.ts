import { Rng } from '@relkd/core';
import {
  expectClose,
  expectNoLeakAsync,
  read,
  runOn,
  useWebGpuTestBackend,
  WEBGPU_GRAD_TOL,
  WEBGPU_VALUE_TOL,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

// The kernels (forward and gradient) that training our losses and the tfjs-layers models we use
// (conv, depthwise conv, pooling, global average pooling, dense, batch norm, embeddings) needs,
// on tfjs-backend-webgpu 4.22 through Dawn, each compared with the cpu backend.
// tfjs-backend-webgpu 4.22 registers every such kernel (it lacks only string, ragged, sparse,
// Unique, BitwiseAnd and NonMaxSuppressionV4 kernels, checked below), so no gap is filled here:
// these tests check the values of the ones it has.

/** Deterministic pseudo-random values in [-1, 1) (core's generator, as everywhere else). */
function values(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 2 * rng.next() - 1);
}

function tensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/**
 * The value of `f(...inputs)` and its gradients with respect to every input, weighted by a fixed
 * random cotangent (so every output element matters), on the active backend.
 */
function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
): () => tf.Tensor[] {
  return () => {
    const xs = shapes.map((s, i) => tensor(s, 11 + i));
    const y = f(...xs);
    const dy = tensor(y.shape, 97);
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), dy)))(xs);
    return [y, ...grads];
  };
}

type Pad =
  | 'same'
  | 'valid'
  | [[number, number], [number, number], [number, number], [number, number]];
const explicit: Pad = [
  [0, 0],
  [1, 2],
  [2, 0],
  [0, 0],
];

const CASES: [string, (...xs: tf.Tensor[]) => tf.Tensor, number[][]][] = [];
for (const [stride, pad, dilation] of [
  [1, 'same', 1],
  [2, 'same', 1],
  [2, 'valid', 1],
  [1, explicit, 1],
] as [number, Pad, number][]) {
  const tag = `stride ${stride}, pad ${JSON.stringify(pad)}, dilation ${dilation}`;
  CASES.push([
    `conv2d (${tag})`,
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', dilation),
    [
      [2, 9, 8, 3],
      [3, 3, 3, 4],
    ],
  ]);
  CASES.push([
    `depthwiseConv2d (${tag})`,
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', dilation),
    [
      [2, 9, 8, 3],
      [3, 3, 3, 2],
    ],
  ]);
}
// Dilation: forward only. tfjs-core 4.22 has no gradient for dilated convolutions on any backend
// (its Conv2D/DepthwiseConv2dNative gradients assert dilation 1), checked in a test below.
const DILATED: [string, (...xs: tf.Tensor[]) => tf.Tensor, number[][]][] = [
  [
    'conv2d (dilation 2, same)',
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
    [
      [2, 9, 8, 3],
      [3, 3, 3, 4],
    ],
  ],
  [
    'depthwiseConv2d (dilation 2, valid)',
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid', 'NHWC', 2),
    [
      [2, 9, 8, 3],
      [3, 3, 3, 2],
    ],
  ],
];

for (const [size, stride, pad] of [
  [2, 2, 'valid'],
  [3, 2, 'same'],
  [3, 1, 'same'],
] as [number, number, 'same' | 'valid'][]) {
  const tag = `${size}x${size}, stride ${stride}, ${pad}`;
  CASES.push([
    `maxPool (${tag})`,
    (x) => tf.maxPool(x as tf.Tensor4D, size, stride, pad),
    [[2, 8, 7, 3]],
  ]);
  CASES.push([
    `avgPool (${tag})`,
    (x) => tf.avgPool(x as tf.Tensor4D, size, stride, pad),
    [[2, 8, 7, 3]],
  ]);
}
CASES.push(
  ['global average pooling (mean over H, W)', (x) => tf.mean(x, [1, 2]), [[3, 5, 4, 6]]],
  ['dense: relu(x·W + b)', (x, w, b) => tf.relu(tf.add(tf.matMul(x, w), b)), [[5, 7], [7, 4], [4]]],
  [
    'batched matMul with transposes',
    (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true),
    [
      [3, 4, 5],
      [3, 6, 5],
    ],
  ],
  [
    'batch norm (training: batch moments), NHWC',
    (x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(
        x as tf.Tensor4D,
        mean,
        variance,
        b as tf.Tensor1D,
        g as tf.Tensor1D,
        1e-3,
      );
    },
    [[4, 3, 3, 5], [5], [5]],
  ],
  [
    'softmax / logSoftmax / exp / log',
    (x) => tf.add(tf.mul(tf.softmax(x), tf.logSoftmax(x)), tf.log(tf.add(tf.exp(x), 1))),
    [[6, 10]],
  ],
  [
    'gather (embedding) gradient: UnsortedSegmentSum',
    (e) => tf.gather(e, tf.tensor1d([0, 3, 3, 1, 4, 0], 'int32')),
    [[5, 4]],
  ],
  [
    'slice / concat / pad / transpose / tile',
    (x) =>
      tf.transpose(
        tf.concat(
          [
            tf.slice(x, [0, 1], [3, 2]),
            tf.pad(tf.slice(x, [1, 0], [2, 3]), [
              [1, 0],
              [0, 0],
            ]),
          ],
          1,
        ),
      ),
    [[4, 5]],
  ],
  [
    'sqrt / maximum / where / square (distance matrices)',
    (x) => {
      const d = tf.sub(tf.expandDims(x, 1), tf.expandDims(x, 0));
      const sq = tf.sum(tf.square(d), -1);
      return tf.sqrt(tf.maximum(sq, 1e-6));
    },
    [[5, 3]],
  ],
);

describe('training kernels on webgpu (Dawn) vs cpu', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it('tfjs-backend-webgpu 4.22 registers every kernel the cpu backend has except string/ragged/sparse ones', () => {
    const names = (b: string) => new Set(tf.getKernelsForBackend(b).map((k) => k.kernelName));
    const webgpu = names('webgpu');
    // relkd's own fused host kernels (Relkd*) are registered for cpu and wasm only, by design.
    const missing = [...names('cpu')]
      .filter((k) => !webgpu.has(k) && !k.startsWith('Relkd'))
      .sort();
    expect(missing).toEqual([
      'BitwiseAnd',
      'NonMaxSuppressionV4',
      'RaggedGather',
      'RaggedRange',
      'RaggedTensorToTensor',
      'SparseFillEmptyRows',
      'SparseReshape',
      'StaticRegexReplace',
      'StringSplit',
      'StringToHashBucketFast',
      'Unique',
    ]);
  });

  it.each(CASES)('%s: value and gradients match cpu', async (_, f, shapes) => {
    const expected = await runOn('cpu', valueAndGrads(f, shapes));
    await expectNoLeakAsync(async () => {
      const actual = tf.tidy(valueAndGrads(f, shapes));
      for (const [i, t] of actual.entries()) {
        const tol = i === 0 ? WEBGPU_VALUE_TOL : WEBGPU_GRAD_TOL;
        expectClose(await read(t), expected[i]!, {
          ...tol,
          label: i === 0 ? 'value' : `grad ${i}`,
        });
      }
      tf.dispose(actual);
    });
  });

  it.each(
    DILATED,
  )('%s: value matches cpu; its gradient is a clear tfjs-core error, as on cpu', async (_, f, shapes) => {
    const forward = () => f(...shapes.map((s, i) => tensor(s, 11 + i)));
    const [expected] = await runOn('cpu', forward);
    const before = tf.memory().numTensors;
    const y = tf.tidy(forward);
    expectClose(await read(y), expected!, WEBGPU_VALUE_TOL);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const backend of ['webgpu', 'cpu']) {
      await expect(runOn(backend, valueAndGrads(f, shapes))).rejects.toThrow(
        /dilation rates greater than 1 are not yet supported/,
      );
    }
  });
});
