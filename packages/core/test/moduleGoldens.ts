// Module forward passes and gradients against the float64 numpy reference (tools/reference/core.py,
// cross-checked against PyTorch conv2d / groups conv / BatchNorm by core_torch.py), shared by
// core's tests (plain tfjs) and tools/integration (@relkd/backend, which fills the conv-family
// gradient kernels that plain tfjs-backend-wasm 4.22 lacks).

import { expectClose, loadFixture } from '@relkd/testing/plain';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BatchNorm } from '../src/modules/BatchNorm';
import { Conv2D } from '../src/modules/Conv2D';
import { Dense } from '../src/modules/Dense';
import { DepthwiseConv2D } from '../src/modules/DepthwiseConv2D';
import type { Module } from '../src/modules/Module';
import { SeparableConv2D } from '../src/modules/SeparableConv2D';
import { SepConv } from '../src/modules/SepConv';

type N = number[];
// Values are sums of up to ~50 float32 products of O(1) numbers: absolute floor 1e-5.
const VAL = { rtol: 1e-5, atol: 1e-5 };
const GRAD = { rtol: 1e-3, atol: 1e-5, label: 'gradient' };

interface ConvCase {
  kernelSize: number;
  stride: number;
  padding: number;
  dilation: number;
  useBias: boolean;
  inChannels: number;
  outChannels: number;
  x: N;
  kernel: N;
  bias: N | null;
  r: N;
  y: N;
  gradX: N;
  gradKernel: N;
  gradBias: N | null;
}
interface DwCase extends Omit<ConvCase, 'dilation' | 'inChannels' | 'outChannels'> {
  channels: number;
  depthMultiplier: number;
}
interface SepCase {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  padding: number;
  depthMultiplier: number;
  useBias: boolean;
  x: N;
  weights: Record<string, N>;
  r: N;
  y: N;
  gradX: N;
  grads: Record<string, N>;
}
interface BnMode {
  y: N;
  gradX: N;
  gradGamma: N;
  gradBeta: N;
  movingMean?: N;
  movingVariance?: N;
}
interface BnCase {
  x: N;
  gamma: N;
  beta: N;
  movingMean: N;
  movingVariance: N;
  r: N;
  train: BnMode;
  infer: BnMode;
}
interface DenseCase {
  inUnits: number;
  outUnits: number;
  useBias: boolean;
  x: N;
  kernel: N;
  bias: N | null;
  r: N;
  y: N;
  gradX: N;
  gradKernel: N;
  gradBias: N | null;
}
interface SepConvFixture {
  inChannels: number;
  outChannels: number;
  stride: number;
  x: N;
  weights: Record<string, N>;
  r: N;
  infer: { y: N; gradX: N };
  train: { y: N; gradX: N; stats: Record<string, N> };
}

const conv = loadFixture<{ cases: ConvCase[] }>(import.meta.url, 'conv2d').cases;
const dw = loadFixture<{ cases: DwCase[] }>(import.meta.url, 'depthwiseConv2d').cases;
const sep = loadFixture<{ cases: SepCase[] }>(import.meta.url, 'separableConv2d').cases;
const bn = loadFixture<{ cases: BnCase[] }>(import.meta.url, 'batchNorm').cases;
const dense = loadFixture<{ cases: DenseCase[] }>(import.meta.url, 'dense').cases;
const sepConv = loadFixture<SepConvFixture>(import.meta.url, 'sepConv');

const t = (x: N): tf.Tensor => tf.tensor(x);
const shapeOf = (x: unknown): string => {
  const dims: number[] = [];
  for (let v = x; Array.isArray(v); v = v[0]) dims.push(v.length);
  return `[${dims.join(', ')}]`;
};

/** Sets every variable of `m` from a `{ path: values }` record (all paths must be present). */
function setByPath(m: Module, weights: Record<string, N>): void {
  const named = m.namedVariables();
  expect(named.map((v) => v.path).sort()).toEqual(Object.keys(weights).sort());
  m.setWeights(named.map((v) => t(weights[v.path]!)));
}

/** Gradients of `sum(m.apply(x) * r)` w.r.t. x and every trainable variable (by path). */
function gradients(
  m: Module,
  x: tf.Tensor,
  r: tf.Tensor,
  training = false,
): { gradX: tf.Tensor; byPath: Record<string, tf.Tensor> } {
  const gradX = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(m.apply(a, { training }), r)))(x);
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.mul(m.apply(x, { training }), r)) as tf.Scalar,
    m.trainableVariables,
  );
  const byPath: Record<string, tf.Tensor> = {};
  for (const v of m.namedVariables()) if (v.trainable) byPath[v.path] = grads[v.variable.name]!;
  return { gradX, byPath };
}

/**
 * `it` when `condition` holds; otherwise cases are not registered at all (not reported as
 * skipped): for the conv-family gradient cases on a backend without conv backprop kernels, which
 * run on that backend through @relkd/backend in tools/integration/coreOnBackend.test.ts.
 */
export function itWhere(condition: boolean): typeof it {
  if (condition) return it;
  const none = () => {};
  return Object.assign(none, { each: () => none }) as unknown as typeof it;
}

/**
 * Registers (inside the caller's `describe`, after it selected a backend) the golden tests of every
 * module. `convGradients: false` leaves out the gradients of the conv-family modules (their
 * forward passes and the Dense / BatchNorm gradients always run): for a backend that has no
 * conv backprop kernels, e.g. plain tfjs-backend-wasm 4.22 without @relkd/backend.
 */
export function moduleGoldenCases({ convGradients }: { convGradients: boolean }): void {
  const itConv = itWhere(convGradients);
  describe('Conv2D (explicit symmetric padding, stride, dilation) = torch conv2d', () => {
    it.each(
      conv.map((c) => [`k${c.kernelSize} s${c.stride} p${c.padding} d${c.dilation}`, c] as const),
    )('%s forward', (_, c) => {
      const m = new Conv2D({ ...c });
      m.setWeights(c.useBias ? [t(c.kernel), t(c.bias!)] : [t(c.kernel)]);
      expectClose(m.apply(t(c.x)), c.y, VAL);
      m.dispose();
    });
    itConv.each(
      conv.map((c) => [`k${c.kernelSize} s${c.stride} p${c.padding} d${c.dilation}`, c] as const),
    )('%s gradients (input, kernel, bias)', (_, c) => {
      const m = new Conv2D({ ...c });
      m.setWeights(c.useBias ? [t(c.kernel), t(c.bias!)] : [t(c.kernel)]);
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r));
      expectClose(gradX, c.gradX, GRAD);
      expectClose(byPath['kernel']!, c.gradKernel, GRAD);
      if (c.useBias) expectClose(byPath['bias']!, c.gradBias!, GRAD);
      m.dispose();
    });
  });

  describe('DepthwiseConv2D = torch conv2d(groups = C)', () => {
    it.each(
      dw.map(
        (c) => [`m${c.depthMultiplier} k${c.kernelSize} s${c.stride} p${c.padding}`, c] as const,
      ),
    )('%s forward', (_, c) => {
      const m = new DepthwiseConv2D({ ...c });
      m.setWeights(c.useBias ? [t(c.kernel), t(c.bias!)] : [t(c.kernel)]);
      expectClose(m.apply(t(c.x)), c.y, VAL);
      m.dispose();
    });
    itConv.each(
      dw.map(
        (c) => [`m${c.depthMultiplier} k${c.kernelSize} s${c.stride} p${c.padding}`, c] as const,
      ),
    )('%s gradients (input, kernel, bias)', (_, c) => {
      const m = new DepthwiseConv2D({ ...c });
      m.setWeights(c.useBias ? [t(c.kernel), t(c.bias!)] : [t(c.kernel)]);
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r));
      expectClose(gradX, c.gradX, GRAD);
      expectClose(byPath['kernel']!, c.gradKernel, GRAD);
      if (c.useBias) expectClose(byPath['bias']!, c.gradBias!, GRAD);
      m.dispose();
    });
  });

  describe('SeparableConv2D = depthwise then pointwise', () => {
    it.each(sep.map((c, i) => [i, c] as const))('case %i forward', (_, c) => {
      const m = new SeparableConv2D({ ...c });
      setByPath(m, c.weights);
      expectClose(m.apply(t(c.x)), c.y, VAL);
      m.dispose();
    });
    itConv.each(sep.map((c, i) => [i, c] as const))('case %i gradients', (_, c) => {
      const m = new SeparableConv2D({ ...c });
      setByPath(m, c.weights);
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r));
      expectClose(gradX, c.gradX, GRAD);
      for (const [path, g] of Object.entries(c.grads))
        expectClose(byPath[path]!, g, { ...GRAD, label: path });
      m.dispose();
    });
  });

  describe('Dense', () => {
    it.each(dense.map((c, i) => [i, c] as const))('case %i forward and gradients', (_, c) => {
      const m = new Dense({ ...c });
      m.setWeights(c.useBias ? [t(c.kernel), t(c.bias!)] : [t(c.kernel)]);
      expectClose(m.apply(t(c.x)), c.y, VAL);
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r));
      expectClose(gradX, c.gradX, GRAD);
      expectClose(byPath['kernel']!, c.gradKernel, GRAD);
      if (c.useBias) expectClose(byPath['bias']!, c.gradBias!, GRAD);
      m.dispose();
    });
  });

  describe('BatchNorm = torch BatchNorm (momentum 0.1 ≙ ours 0.9, eps 1e-5)', () => {
    const make = (c: BnCase): BatchNorm => {
      const m = new BatchNorm({ channels: c.gamma.length });
      m.setWeights([t(c.gamma), t(c.beta), t(c.movingMean), t(c.movingVariance)]);
      return m;
    };
    it.each(
      bn.map((c) => [shapeOf(c.x), c] as const),
    )('%s training: batch statistics, running mean and unbiased variance update, gradients', (_, c) => {
      const m = make(c);
      expectClose(m.apply(t(c.x), { training: true }), c.train.y, VAL);
      const [, , mm, mv] = m.getWeights();
      expectClose(mm!, c.train.movingMean!, VAL);
      expectClose(mv!, c.train.movingVariance!, VAL);
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r), true);
      expectClose(gradX, c.train.gradX, GRAD);
      expectClose(byPath['gamma']!, c.train.gradGamma, GRAD);
      expectClose(byPath['beta']!, c.train.gradBeta, GRAD);
      m.dispose();
    });
    it.each(
      bn.map((c) => [shapeOf(c.x), c] as const),
    )('%s inference: running statistics, unchanged, gradients', (_, c) => {
      const m = make(c);
      expectClose(m.apply(t(c.x)), c.infer.y, VAL);
      const [, , mm, mv] = m.getWeights();
      expectClose(mm!, c.movingMean, { atol: 0, rtol: 0 });
      expectClose(mv!, c.movingVariance, { atol: 0, rtol: 0 });
      const { gradX, byPath } = gradients(m, t(c.x), t(c.r), false);
      expectClose(gradX, c.infer.gradX, GRAD);
      expectClose(byPath['gamma']!, c.infer.gradGamma, GRAD);
      expectClose(byPath['beta']!, c.infer.gradBeta, GRAD);
      m.dispose();
    });
  });

  describe('SepConv block with fixed weights (setWeights) = torch Sequential', () => {
    it('inference forward', () => {
      const m = new SepConv({ ...sepConv });
      setByPath(m, sepConv.weights);
      expectClose(m.apply(t(sepConv.x)), sepConv.infer.y, VAL);
      m.dispose();
    });
    itConv('inference input gradient', () => {
      const m = new SepConv({ ...sepConv });
      setByPath(m, sepConv.weights);
      const x = t(sepConv.x);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(m.apply(a), t(sepConv.r))))(x);
      expectClose(g, sepConv.infer.gradX, GRAD);
      m.dispose();
    });
    it('training forward and running statistics', () => {
      const m = new SepConv({ ...sepConv });
      setByPath(m, sepConv.weights);
      expectClose(m.apply(t(sepConv.x), { training: true }), sepConv.train.y, VAL);
      const after = Object.fromEntries(m.namedVariables().map((v) => [v.path, v.variable]));
      for (const [path, expected] of Object.entries(sepConv.train.stats)) {
        expectClose(after[path]!, expected, { ...VAL, label: path });
      }
      m.dispose();
    });
    itConv('training input gradient', () => {
      const m = new SepConv({ ...sepConv });
      setByPath(m, sepConv.weights);
      const x = t(sepConv.x);
      const g = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(m.apply(a, { training: true }), t(sepConv.r))),
      )(x);
      expectClose(g, sepConv.train.gradX, GRAD);
      m.dispose();
    });
  });
}
