import {
  BACKENDS,
  expectClose,
  expectRelkdError,
  missingConvGradientKernels,
  usePlainBackend,
} from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { itWhere } from '../../test/moduleGoldens';
import { expectNoLeakStrict, seededNormal } from '../testUtils';
import { GlobalAveragePool, ReLU, Sigmoid } from './activations';
import { BatchNorm } from './BatchNorm';
import { Conv2D } from './Conv2D';
import { Dense } from './Dense';
import { DepthwiseConv2D } from './DepthwiseConv2D';
import { childSeed, heNormalFanOut, uniformInit } from './initializers';
import type { Module } from './Module';
import { SeparableConv2D } from './SeparableConv2D';
import { SepConv } from './SepConv';
import { Sequential } from './Sequential';

function bytes(t: tf.Tensor): number[] {
  const d = t.dataSync() as Float32Array;
  return Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

/**
 * Directional derivative of `loss()` along `dir` w.r.t. variable `v` by central differences
 * (assigning v ± ε·dir, then restoring v), next to the autodiff value `Σ grad·dir`.
 */
function variableDirectional(
  loss: () => tf.Scalar,
  v: tf.Variable,
  dir: tf.Tensor,
  eps = 1e-3,
): { fd: number; ad: number } {
  const original = v.clone();
  const at = (sign: number): number =>
    tf.tidy(() => {
      v.assign(tf.add(original, tf.mul(dir, sign * eps)));
      return loss().dataSync()[0]!;
    });
  const fd = (at(1) - at(-1)) / (2 * eps);
  v.assign(original);
  original.dispose();
  const ad = tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, [v]);
    return tf.sum(tf.mul(grads[v.name]!, dir)).dataSync()[0]!;
  });
  return { fd, ad };
}

function expectDirectional({ fd, ad }: { fd: number; ad: number }, what = ''): void {
  expect(Math.abs(fd - ad), `${what}: fd ${fd} vs autodiff ${ad}`).toBeLessThan(
    3e-3 * Math.abs(ad) + 1e-3,
  );
}

describe.each(BACKENDS)('Module building blocks on %s', (backend) => {
  beforeAll(async () => {
    await usePlainBackend(backend);
  });
  // Plain tfjs-backend-wasm 4.22 has no conv backprop kernels (@relkd/backend fills them; the
  // module gradient goldens run there in tools/integration/coreOnBackend.test.ts).
  const convGradients = missingConvGradientKernels(backend).length === 0;
  const itConv = itWhere(convGradients);

  describe('weights', () => {
    it('saveWeights / loadWeights round trip is bitwise exact, with BatchNorm state', async () => {
      const a = new SepConv({ inChannels: 3, outChannels: 4, seed: 1 });
      const x = seededNormal([2, 6, 6, 3], 51);
      tf.dispose(a.apply(x, { training: true })); // moves the running statistics away from 0/1
      const saved = await a.saveWeights();
      expect(saved.specs.map((s) => s.name)).toEqual(a.namedVariables().map((v) => v.path));
      expect(saved.data).toBeInstanceOf(ArrayBuffer);
      const b = new SepConv({ inChannels: 3, outChannels: 4, seed: 2 });
      expect(bytes(b.getWeights()[0]!)).not.toEqual(bytes(a.getWeights()[0]!));
      b.loadWeights(saved);
      const wa = a.getWeights();
      const wb = b.getWeights();
      expect(wb.length).toBe(wa.length);
      wa.forEach((w, i) => {
        expect(bytes(wb[i]!), a.namedVariables()[i]!.path).toEqual(bytes(w));
      });
      expect(bytes(b.apply(x))).toEqual(bytes(a.apply(x)));
      // a JSON round trip of specs + a copy of the bytes works too (persist anywhere)
      const c = new SepConv({ inChannels: 3, outChannels: 4, seed: 3 });
      c.loadWeights({ specs: JSON.parse(JSON.stringify(saved.specs)), data: saved.data.slice(0) });
      expect(bytes(c.apply(x))).toEqual(bytes(a.apply(x)));
      tf.dispose([wa, wb]);
      for (const m of [a, b, c]) m.dispose();
    });

    it('loadWeights errors (missing path, wrong shape, garbage) assign nothing and leak nothing', async () => {
      const small = new Dense({ inUnits: 3, outUnits: 2, seed: 1 });
      const other = new Dense({ inUnits: 4, outUnits: 2, seed: 1 });
      const noBias = new Dense({ inUnits: 3, outUnits: 2, useBias: false, seed: 1 });
      const target = new Dense({ inUnits: 3, outUnits: 2, seed: 9 });
      const [sSmall, sOther, sNoBias] = await Promise.all(
        [small, other, noBias].map((m) => m.saveWeights()),
      );
      const before = target.getWeights().map(bytes);
      expectRelkdError(() => target.loadWeights(sOther!), 'SHAPE_MISMATCH');
      expectRelkdError(() => target.loadWeights(sNoBias!), 'SHAPE_MISMATCH');
      expectRelkdError(
        () => target.loadWeights({ specs: sSmall!.specs, data: new ArrayBuffer(4) }),
        'INVALID_OPTION',
      );
      const intSpecs = sSmall!.specs.map((s) => ({ ...s, dtype: 'int32' as const }));
      expectRelkdError(
        () => target.loadWeights({ specs: intSpecs, data: sSmall!.data }),
        'DTYPE_MISMATCH',
      );
      expect(target.getWeights().map(bytes)).toEqual(before);
      // extra saved entries are ignored
      noBias.loadWeights(sSmall!);
      expect(bytes(noBias.getWeights()[0]!)).toEqual(bytes(small.getWeights()[0]!));
      for (const m of [small, other, noBias, target]) m.dispose();
    });

    it('setWeights checks count, shape and dtype before assigning anything', () => {
      const m = new Dense({ inUnits: 3, outUnits: 2, seed: 1 });
      const before = m.getWeights().map(bytes);
      const k = tf.ones([3, 2]);
      const b = tf.ones([2]);
      const bad = tf.ones([2, 3]);
      const int = tf.ones([2], 'int32');
      expectRelkdError(() => m.setWeights([k]), 'SHAPE_MISMATCH');
      expectRelkdError(() => m.setWeights([k, b, b]), 'SHAPE_MISMATCH');
      expectRelkdError(() => m.setWeights([k, bad]), 'SHAPE_MISMATCH');
      expectRelkdError(() => m.setWeights([bad, b]), 'SHAPE_MISMATCH');
      expectRelkdError(() => m.setWeights([k, int]), 'DTYPE_MISMATCH');
      expectRelkdError(() => m.setWeights([k, [1, 2] as never]), 'INVALID_OPTION');
      expect(m.getWeights().map(bytes)).toEqual(before);
      m.setWeights([k, b]);
      expectClose(m.apply(tf.ones([1, 3])), [[4, 4]], { atol: 0 });
      expect(() => m.setWeights([k, b])).not.toThrow();
      tf.dispose([k, b, bad, int]);
      m.dispose();
    });

    it('getWeights returns copies; variables, trainableVariables and paths', () => {
      const m = new Sequential([
        new Conv2D({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, seed: 1 }),
        new BatchNorm({ channels: 3 }),
        new ReLU(),
        new GlobalAveragePool(),
        new Dense({ inUnits: 3, outUnits: 2, seed: 2 }),
      ]);
      expect(m.namedVariables().map((v) => v.path)).toEqual([
        '0/kernel',
        '0/bias',
        '1/gamma',
        '1/beta',
        '1/movingMean',
        '1/movingVariance',
        '4/kernel',
        '4/bias',
      ]);
      // running statistics are state, not trainable
      const trainable = new Set(m.trainableVariables);
      const byPath = Object.fromEntries(m.namedVariables().map((v) => [v.path, v.variable]));
      expect(trainable.has(byPath['1/movingMean']!)).toBe(false);
      expect(trainable.has(byPath['1/movingVariance']!)).toBe(false);
      expect(trainable.has(byPath['1/gamma']!)).toBe(true);
      expect(m.trainableVariables.length).toBe(6);
      expect(m.variables.length).toBe(8);
      expect(m.countParams()).toBe(2 * 3 * 9 + 3 + 3 + 3 + 3 * 2 + 2);
      expect(m.countParams(true)).toBe(m.countParams() + 6);
      const w = m.getWeights();
      w[0]!.dispose(); // a copy: the variable lives on
      expect(byPath['0/kernel']!.isDisposed).toBe(false);
      tf.dispose(w);
      const bn = new BatchNorm({ channels: 4 });
      expect(bn.trainableVariables.length).toBe(2);
      expect(bn.variables.length).toBe(4);
      bn.dispose();
      m.dispose();
    });
  });

  describe('BatchNorm', () => {
    it('inference uses the running statistics and leaves them unchanged', () => {
      const bn = new BatchNorm({ channels: 2 });
      bn.setWeights([
        tf.tensor1d([2, 3]),
        tf.tensor1d([0.5, -1]),
        tf.tensor1d([1, -2]),
        tf.tensor1d([4, 0.25]),
      ]);
      const x = tf.tensor2d([
        [3, -2],
        [1, 0],
      ]);
      const y = bn.apply(x);
      const e = 1e-5;
      expectClose(y, [
        [(2 * (3 - 1)) / Math.sqrt(4 + e) + 0.5, (3 * 0) / Math.sqrt(0.25 + e) - 1],
        [(2 * (1 - 1)) / Math.sqrt(4 + e) + 0.5, (3 * 2) / Math.sqrt(0.25 + e) - 1],
      ]);
      const [, , mm, mv] = bn.getWeights();
      expectClose(mm!, [1, -2], { atol: 0 });
      expectClose(mv!, [4, 0.25], { atol: 0 });
      bn.dispose();
    });

    it('training normalises with batch statistics and updates running stats only when training', () => {
      const bn = new BatchNorm({ channels: 1 });
      const x = tf.tensor2d([[1], [3]]); // mean 2, biased var 1, unbiased var 2
      expectClose(bn.apply(x, { training: true }), [
        [-1 / Math.sqrt(1 + 1e-5)],
        [1 / Math.sqrt(1 + 1e-5)],
      ]);
      let [, , mm, mv] = bn.getWeights();
      expectClose(mm!, [0.9 * 0 + 0.1 * 2]);
      expectClose(mv!, [0.9 * 1 + 0.1 * 2]);
      tf.dispose(bn.apply(x)); // inference: no update
      tf.dispose(bn.apply(x, { training: false }));
      [, , mm, mv] = bn.getWeights();
      expectClose(mm!, [0.2]);
      expectClose(mv!, [1.1]);
      tf.dispose(bn.apply(x, { training: true }));
      [, , mm, mv] = bn.getWeights();
      expectClose(mm!, [0.9 * 0.2 + 0.1 * 2]);
      expectClose(mv!, [0.9 * 1.1 + 0.1 * 2]);
      // gradients through training mode work and the running statistics get none
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.square(bn.apply(x, { training: true }))) as tf.Scalar,
        bn.trainableVariables,
      );
      expect(Object.keys(grads).length).toBe(2);
      bn.dispose();
    });

    it('custom momentum and epsilon; NHWC input', () => {
      const bn = new BatchNorm({ channels: 2, momentum: 0.5, epsilon: 0.1 });
      const x = tf.reshape(tf.tensor1d([0, 10, 2, 10, 4, 10, 6, 10]), [1, 2, 2, 2]);
      const y = bn.apply(x, { training: true });
      const sd = Math.sqrt(5 + 0.1);
      expectClose(
        y,
        tf.reshape(tf.tensor1d([-3 / sd, 0, -1 / sd, 0, 1 / sd, 0, 3 / sd, 0]), [1, 2, 2, 2]),
      );
      const [, , mm, mv] = bn.getWeights();
      expectClose(mm!, [0.5 * 3, 0.5 * 10]);
      expectClose(mv!, [0.5 + 0.5 * (20 / 3), 0.5]);
      bn.dispose();
    });
  });

  describe('gradients vs finite differences', () => {
    it('Dense kernel and bias', () => {
      const m = new Dense({ inUnits: 4, outUnits: 3, seed: 5 });
      const x = seededNormal([5, 4], 52);
      const loss = (): tf.Scalar => tf.sum(tf.tanh(m.apply(x)));
      const [kernel, bias] = m.trainableVariables;
      expectDirectional(variableDirectional(loss, kernel!, seededNormal([4, 3], 53)));
      expectDirectional(variableDirectional(loss, bias!, seededNormal([3], 54)));
      m.dispose();
    });

    itConv.each([
      [1, 1, 1],
      [2, 1, 1],
      [1, 2, 2],
      [2, 1, 2],
    ])(
      'Conv2D kernel, bias and input (stride %i, padding %i, dilation %i)',
      (stride, padding, dilation) => {
        const m = new Conv2D({
          inChannels: 2,
          outChannels: 3,
          kernelSize: 3,
          stride,
          padding,
          dilation,
          seed: 6,
        });
        const x = seededNormal([2, 7, 7, 2], 55);
        const loss = (): tf.Scalar => tf.sum(tf.sin(m.apply(x)));
        const [kernel, bias] = m.trainableVariables;
        expectDirectional(
          variableDirectional(loss, kernel!, seededNormal([3, 3, 2, 3], 56)),
          'kernel',
        );
        expectDirectional(variableDirectional(loss, bias!, seededNormal([3], 57)), 'bias');
        const f = (a: tf.Tensor): tf.Scalar => tf.sum(tf.sin(m.apply(a)));
        const v = seededNormal([2, 7, 7, 2], 58);
        const eps = 1e-3;
        const fd = tf.tidy(
          () =>
            (f(tf.add(x, tf.mul(v, eps))).dataSync()[0]! -
              f(tf.sub(x, tf.mul(v, eps))).dataSync()[0]!) /
            (2 * eps),
        );
        const ad = tf.tidy(() => tf.sum(tf.mul(tf.grad(f)(x), v)).dataSync()[0]!);
        expectDirectional({ fd, ad }, 'input');
        m.dispose();
      },
    );

    itConv('DepthwiseConv2D kernel and BatchNorm gamma/beta in training mode', () => {
      const dw = new DepthwiseConv2D({
        channels: 2,
        kernelSize: 3,
        stride: 2,
        padding: 1,
        depthMultiplier: 2,
        seed: 7,
      });
      const x = seededNormal([2, 6, 6, 2], 59);
      expectDirectional(
        variableDirectional(
          () => tf.sum(tf.sin(dw.apply(x))),
          dw.trainableVariables[0]!,
          seededNormal([3, 3, 2, 2], 60),
        ),
      );
      const bn = new BatchNorm({ channels: 2 });
      const w = seededNormal([2, 6, 6, 2], 61);
      const loss = (): tf.Scalar => tf.sum(tf.mul(tf.tanh(bn.apply(x, { training: true })), w));
      expectDirectional(
        variableDirectional(loss, bn.trainableVariables[0]!, seededNormal([2], 62)),
      );
      expectDirectional(
        variableDirectional(loss, bn.trainableVariables[1]!, seededNormal([2], 63)),
      );
      dw.dispose();
      bn.dispose();
    });
  });

  describe('initialisers', () => {
    it('seeded init is reproducible and seed-dependent', () => {
      const make = (seed: number): Module[] => [
        new Dense({ inUnits: 4, outUnits: 3, seed }),
        new Conv2D({ inChannels: 2, outChannels: 3, kernelSize: 3, seed }),
        new SeparableConv2D({ inChannels: 2, outChannels: 3, kernelSize: 3, seed }),
        new SepConv({ inChannels: 2, outChannels: 3, seed }),
      ];
      const a = make(11);
      const b = make(11);
      const c = make(12);
      a.forEach((m, i) => {
        const wa = m.getWeights();
        const wb = b[i]!.getWeights();
        const wc = c[i]!.getWeights();
        expect(wa.map(bytes)).toEqual(wb.map(bytes));
        expect(bytes(wa[0]!)).not.toEqual(bytes(wc[0]!));
        tf.dispose([wa, wb, wc]);
      });
      // sub-modules of a block get different seeds
      const [dw1, pw1] = a[3]!.getWeights();
      expect(dw1!.shape).toEqual([3, 3, 2, 1]);
      expect(childSeed(11, 0)).not.toBe(childSeed(11, 1));
      tf.dispose([dw1, pw1]);
      for (const m of [...a, ...b, ...c]) m.dispose();
    });

    it('He-normal (fan_out) and Glorot/He-uniform have the documented scale', () => {
      const stats = (t: tf.Tensor): [number, number, number] => {
        const d = Array.from(t.dataSync());
        const m = d.reduce((s, v) => s + v, 0) / d.length;
        const v = d.reduce((s, x) => s + (x - m) ** 2, 0) / d.length;
        return [m, v, Math.max(...d.map(Math.abs))];
      };
      const conv = new Conv2D({ inChannels: 16, outChannels: 32, kernelSize: 3, seed: 3 });
      const [m1, v1] = stats(conv.getWeights()[0]!);
      expect(Math.abs(m1)).toBeLessThan(0.01);
      expect(Math.abs(v1 / (2 / (32 * 9)) - 1)).toBeLessThan(0.05);
      const glorot = new Dense({ inUnits: 64, outUnits: 32, seed: 4 });
      const lim = Math.sqrt(6 / 96);
      const [, v2, max2] = stats(glorot.getWeights()[0]!);
      expect(max2).toBeLessThanOrEqual(lim);
      expect(Math.abs(v2 / ((lim * lim) / 3) - 1)).toBeLessThan(0.08);
      const he = new Dense({ inUnits: 64, outUnits: 32, init: 'heUniform', seed: 4 });
      const [, v3, max3] = stats(he.getWeights()[0]!);
      expect(max3).toBeLessThanOrEqual(Math.sqrt(6 / 64));
      expect(Math.abs(v3 / (6 / 64 / 3) - 1)).toBeLessThan(0.08);
      expectClose(glorot.getWeights()[1]!, tf.zeros([32]), { atol: 0 });
      const [m4, v4] = stats(heNormalFanOut([4000], 10, 1));
      expect(Math.abs(m4)).toBeLessThan(0.02);
      expect(Math.abs(v4 / 0.2 - 1)).toBeLessThan(0.06);
      expect(stats(uniformInit([1000], 0.5, 1))[2]).toBeLessThanOrEqual(0.5);
      for (const m of [conv, glorot, he]) m.dispose();
    });
  });

  describe('shapes and activations', () => {
    it('output shapes (PyTorch formula), padding modes, activations', () => {
      const x = tf.zeros([2, 9, 8, 3]);
      const cases: Array<[Module, number[]]> = [
        [new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 }), [2, 9, 8, 4]],
        [
          new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }),
          [2, 5, 4, 4],
        ],
        [
          new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, dilation: 2, padding: 2 }),
          [2, 9, 8, 4],
        ],
        [
          new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, dilation: 2 }),
          [2, 3, 2, 4],
        ],
        [
          new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 'same', stride: 2 }),
          [2, 5, 4, 4],
        ],
        [
          new Conv2D({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 'valid' }),
          [2, 7, 6, 4],
        ],
        [
          new DepthwiseConv2D({
            channels: 3,
            kernelSize: 3,
            stride: 2,
            padding: 1,
            depthMultiplier: 2,
          }),
          [2, 5, 4, 6],
        ],
        [
          new SeparableConv2D({
            inChannels: 3,
            outChannels: 5,
            kernelSize: 3,
            stride: 2,
            padding: 1,
          }),
          [2, 5, 4, 5],
        ],
        [new SepConv({ inChannels: 3, outChannels: 5 }), [2, 5, 4, 5]],
        [new SepConv({ inChannels: 3, outChannels: 5, stride: 1 }), [2, 9, 8, 5]],
        [new GlobalAveragePool(), [2, 3]],
      ];
      for (const [m, shape] of cases) {
        const y = m.apply(x);
        expect(y.shape, m.name).toEqual(shape);
        y.dispose();
        m.dispose();
      }
      expectClose(new ReLU().apply(tf.tensor1d([-1, 2])), [0, 2], { atol: 0 });
      expectClose(new Sigmoid().apply(tf.scalar(0)), 0.5, { atol: 0 });
      expectClose(new GlobalAveragePool().apply(tf.ones([1, 2, 2, 3])), [[1, 1, 1]], { atol: 0 });
    });
  });

  describe('leaks and dispose', () => {
    it('apply (inference and training) and gradients leak no tensor', () => {
      const m = new SepConv({ inChannels: 2, outChannels: 3, seed: 1 });
      const d = new Sequential([
        new Dense({ inUnits: 4, outUnits: 3, seed: 1 }),
        new BatchNorm({ channels: 3 }),
      ]);
      const x = tf.zeros([2, 6, 6, 2]);
      const xd = seededNormal([3, 4], 1);
      expectNoLeakStrict(() => m.apply(x));
      expectNoLeakStrict(() => m.apply(x, { training: true }));
      expectNoLeakStrict(() => d.apply(xd, { training: true }));
      expectNoLeakStrict(() =>
        tf.variableGrads(
          () => tf.sum(d.apply(xd, { training: true })) as tf.Scalar,
          d.trainableVariables,
        ),
      );
      if (convGradients) {
        expectNoLeakStrict(() =>
          tf.variableGrads(
            () => tf.sum(m.apply(x, { training: true })) as tf.Scalar,
            m.trainableVariables,
          ),
        );
      }
      m.dispose();
      d.dispose();
    });

    it('dispose releases every variable; a disposed module refuses to work', async () => {
      const before = tf.memory().numTensors;
      const m = new Sequential([
        new SepConv({ inChannels: 2, outChannels: 3, seed: 1 }),
        new GlobalAveragePool(),
        new Dense({ inUnits: 3, outUnits: 2, seed: 2 }),
      ]);
      const n = m.variables.length;
      expect(tf.memory().numTensors).toBe(before + n);
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(() => m.dispose()).not.toThrow();
      const x = tf.zeros([1, 4, 4, 2]);
      expectRelkdError(() => m.apply(x), 'INVALID_OPTION');
      expectRelkdError(() => m.getWeights(), 'INVALID_OPTION');
      expectRelkdError(() => m.setWeights([]), 'INVALID_OPTION');
      await expect(m.saveWeights()).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      x.dispose();
    });
  });

  describe('bad inputs', () => {
    it('constructor options', () => {
      const bad: Array<() => unknown> = [
        () => new Dense({ inUnits: 0, outUnits: 2 }),
        () => new Dense({ inUnits: 2.5, outUnits: 2 }),
        () => new Conv2D({ inChannels: 2, outChannels: 2, kernelSize: 0 }),
        () => new Conv2D({ inChannels: 2, outChannels: 2, kernelSize: 3, stride: 1.5 }),
        () => new Conv2D({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: -1 }),
        () =>
          new Conv2D({ inChannels: 2, outChannels: 2, kernelSize: 3, padding: 'full' as never }),
        () => new Conv2D({ inChannels: 2, outChannels: 2, kernelSize: 3, dilation: 0 }),
        () => new DepthwiseConv2D({ channels: 2, kernelSize: 3, depthMultiplier: 0 }),
        () => new DepthwiseConv2D({ channels: 2, kernelSize: 3, padding: 'x' as never }),
        () => new SeparableConv2D({ inChannels: -1, outChannels: 2, kernelSize: 3 }),
        () => new BatchNorm({ channels: 2, momentum: 1.5 }),
        () => new BatchNorm({ channels: 2, epsilon: -1 }),
        () => new BatchNorm({ channels: 0 }),
        () => new SepConv({ inChannels: 2, outChannels: 0 }),
      ];
      for (const fn of bad) expectRelkdError(fn, 'INVALID_OPTION');
    });

    it('inputs of the wrong rank, width or size', () => {
      const conv = new Conv2D({ inChannels: 3, outChannels: 2, kernelSize: 3 });
      const dw = new DepthwiseConv2D({ channels: 3, kernelSize: 3 });
      const dense = new Dense({ inUnits: 4, outUnits: 2 });
      const bn = new BatchNorm({ channels: 3 });
      const pre = {
        x3: tf.zeros([2, 5, 5]),
        x4c4: tf.zeros([1, 5, 5, 4]),
        small: tf.zeros([1, 2, 5, 3]),
        d3: tf.zeros([2, 3]),
        d4: tf.zeros([2, 4]),
        d1: tf.zeros([4]),
        bn3: tf.zeros([2, 2, 3]),
      };
      expectRelkdError(() => conv.apply(pre.x3), 'RANK_MISMATCH');
      expectRelkdError(() => conv.apply(pre.x4c4), 'SHAPE_MISMATCH');
      expectRelkdError(() => conv.apply(pre.small), 'SHAPE_MISMATCH');
      expectRelkdError(() => dw.apply(pre.small), 'SHAPE_MISMATCH');
      expectRelkdError(() => dw.apply(pre.x4c4), 'SHAPE_MISMATCH');
      expectRelkdError(() => dense.apply(pre.d3), 'SHAPE_MISMATCH');
      expectRelkdError(() => dense.apply(pre.d1), 'RANK_MISMATCH');
      expectRelkdError(() => bn.apply(pre.bn3), 'RANK_MISMATCH');
      expectRelkdError(() => bn.apply(pre.d4, { training: true }), 'SHAPE_MISMATCH');
      expectRelkdError(() => new GlobalAveragePool().apply(pre.d3), 'RANK_MISMATCH');
      expectRelkdError(() => conv.apply([[[[1, 2, 3]]]] as never), 'INVALID_OPTION');
      expectRelkdError(() => dense.apply(null as never), 'INVALID_OPTION');
      const gone = tf.zeros([1, 4]);
      gone.dispose();
      expectRelkdError(() => dense.apply(gone), 'INVALID_OPTION');
      tf.dispose(Object.values(pre));
      for (const m of [conv, dw, dense, bn]) m.dispose();
    });
  });
});
