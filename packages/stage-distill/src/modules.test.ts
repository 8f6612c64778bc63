import { crossEntropy, type Module } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChannelAdapter, channelDistillationLoss, StageHead } from './index';
import { dot, expectDirectional, fdVariables, T } from './testUtils';

interface ModuleFixture {
  x: number[];
  weights: Record<string, number[]>;
  R: number[];
  trainOut: number[];
  inferOut: number[];
  grads: Record<string, number[]>;
  gradX: number[];
}
type AdapterFixture = ModuleFixture & { movingMean: number[]; movingVariance: number[] };
type HeadFixture = ModuleFixture & {
  moving: Record<'bn1' | 'bn2', { mean: number[]; var: number[] }>;
};

const adapterFx = loadFixture<AdapterFixture>(import.meta.url, 'adapter');
const headFx = loadFixture<HeadFixture>(import.meta.url, 'head');

/** Assigns a module's variables from a `{ path: values }` table. */
function setByPath(m: Module, weights: Record<string, unknown>): void {
  const ws = m.namedVariables().map((v) => {
    const w = weights[v.path];
    if (w === undefined) throw new Error(`fixture lacks ${v.path}`);
    return tf.reshape(T(w), v.variable.shape);
  });
  m.setWeights(ws);
  tf.dispose(ws);
}

function byPath(m: Module, path: string): tf.Variable {
  const v = m.namedVariables().find((n) => n.path === path);
  if (!v) throw new Error(`no variable ${path}`);
  return v.variable;
}

/** Checks forward (train and inference), running statistics and gradients against a fixture. */
function checkGolden(m: Module, fx: ModuleFixture, moving: Record<string, number[]>): void {
  setByPath(m, fx.weights);
  const x = T(fx.x);
  const R = T(fx.R);
  // inference first (running statistics from the fixture), then one training pass
  const inf = m.apply(x);
  expectClose(inf, fx.inferOut, { label: 'inference output' });
  const out = m.apply(x, { training: true });
  expectClose(out, fx.trainOut, { label: 'training output' });
  for (const [path, values] of Object.entries(moving)) {
    expectClose(byPath(m, path), values, { label: path });
  }
  setByPath(m, fx.weights);
  const names = Object.keys(fx.grads);
  const vars = names.map((n) => byPath(m, n));
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(m.apply(x, { training: true }), R)) as tf.Scalar,
    vars,
  );
  names.forEach((n, i) => {
    expectClose(grads[vars[i]!.name]!, fx.grads[n]!, {
      rtol: 1e-3,
      atol: 1e-5,
      label: `grad ${n}`,
    });
  });
  const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(m.apply(xx, { training: true }), R)))(x);
  expectClose(gx, fx.gradX, { rtol: 1e-3, atol: 1e-5, label: 'grad x' });
  tf.dispose([x, R, inf, out, value, grads, gx]);
}

/** Every trainable variable gets a finite, non-zero gradient; central differences agree. */
function checkTrainableGradients(m: Module, loss: () => tf.Scalar, seed: number, eps = 1e-3): void {
  const vars = m.trainableVariables;
  const { value, grads } = tf.variableGrads(loss, vars);
  for (const v of vars) {
    const g = grads[v.name]!;
    const data = g.dataSync();
    expect(Array.from(data).every(Number.isFinite), `${v.name} finite`).toBe(true);
    expect(tf.sum(tf.abs(g)).dataSync()[0], `${v.name} receives a gradient`).toBeGreaterThan(0);
  }
  const dirs = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', seed + i));
  const ad = dot(
    vars.map((v) => grads[v.name]!),
    dirs,
  );
  // ReLU kinks and small-batch BatchNorm make the head strongly curved: a small step is needed
  const fd = fdVariables(loss, vars, dirs, eps);
  expectDirectional(fd, ad, 2e-2, 1e-3);
  tf.dispose([value, grads, dirs]);
}

/** A few SGD steps reduce `loss`. */
function checkSgdReduces(m: Module, loss: () => tf.Scalar, steps = 8, lr = 0.05): void {
  const opt = tf.train.sgd(lr);
  const first = tf.tidy(() => loss().dataSync()[0]!);
  for (let i = 0; i < steps; i++) {
    opt.minimize(loss, false, m.trainableVariables)?.dispose();
  }
  const last = tf.tidy(() => loss().dataSync()[0]!);
  opt.dispose();
  expect(last).toBeLessThan(first * 0.9);
}

/** save -> load into a differently seeded module: identical weights and outputs. */
async function checkRoundTrip(a: Module, b: Module, x: tf.Tensor): Promise<void> {
  tf.dispose(a.apply(x, { training: true })); // move the running statistics off their init
  const saved = await a.saveWeights();
  const before = b.getWeights();
  const wa = a.getWeights();
  expect(before.some((w, i) => !tf.util.arraysEqual(w.dataSync(), wa[i]!.dataSync()))).toBe(true);
  b.loadWeights(saved);
  const wb = b.getWeights();
  wa.forEach((w, i) => {
    expect(Array.from(wb[i]!.dataSync())).toEqual(Array.from(w.dataSync()));
  });
  const ya = a.apply(x);
  const yb = b.apply(x);
  expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
  tf.dispose([before, wa, wb, ya, yb]);
}

describe.each(BACKENDS)('ChannelAdapter on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('golden forward (train and inference), running statistics and gradients', () => {
    const m = new ChannelAdapter(2, 3);
    checkGolden(m, adapterFx, {
      'bn/movingMean': adapterFx.movingMean,
      'bn/movingVariance': adapterFx.movingVariance,
    });
    m.dispose();
  });

  it('has the documented structure, seeded init and output shape', () => {
    const a = new ChannelAdapter(4, 6, { seed: 3 });
    const b = new ChannelAdapter(4, 6, { seed: 3 });
    const c = new ChannelAdapter(4, 6, { seed: 4 });
    expect(a.namedVariables().map((v) => [v.path, v.variable.shape, v.trainable])).toEqual([
      ['conv/kernel', [1, 1, 4, 6], true],
      ['bn/gamma', [6], true],
      ['bn/beta', [6], true],
      ['bn/movingMean', [6], false],
      ['bn/movingVariance', [6], false],
    ]);
    const k = (m: ChannelAdapter) => Array.from(byPath(m, 'conv/kernel').dataSync());
    expect(k(a)).toEqual(k(b));
    expect(k(a)).not.toEqual(k(c));
    const x = tf.randomNormal([2, 3, 5, 4]);
    const y = a.apply(x, { training: true });
    expect(y.shape).toEqual([2, 3, 5, 6]);
    expect(tf.min(y).dataSync()[0]).toBeGreaterThanOrEqual(0); // ReLU
    tf.dispose([x, y]);
    for (const m of [a, b, c]) m.dispose();
  });

  it('trains: every variable gets a gradient (matching central differences) and SGD reduces SCD', () => {
    const m = new ChannelAdapter(3, 4, { seed: 5 });
    const x = tf.randomNormal([4, 3, 3, 3], 0, 1, 'float32', 1);
    const t = tf.randomNormal([4, 2, 2, 4], 1, 1, 'float32', 2);
    const loss = () => channelDistillationLoss([m.apply(x, { training: true })], [t]);
    checkTrainableGradients(m, loss, 100);
    checkSgdReduces(m, loss);
    tf.dispose([x, t]);
    m.dispose();
  });

  it('uses batch statistics in training and running statistics in inference', () => {
    const m = new ChannelAdapter(2, 2, { seed: 1 });
    const x = tf.randomNormal([4, 2, 2, 2], 3, 2, 'float32', 9);
    const mean0 = Array.from(byPath(m, 'bn/movingMean').dataSync());
    const inf1 = m.apply(x);
    expect(Array.from(byPath(m, 'bn/movingMean').dataSync())).toEqual(mean0); // inference: no update
    const tr = m.apply(x, { training: true });
    expect(Array.from(byPath(m, 'bn/movingMean').dataSync())).not.toEqual(mean0);
    const inf2 = m.apply(x);
    expect(Array.from(inf2.dataSync())).not.toEqual(Array.from(inf1.dataSync()));
    expect(Array.from(tr.dataSync())).not.toEqual(Array.from(inf2.dataSync()));
    tf.dispose([x, inf1, tr, inf2]);
    m.dispose();
  });

  it('save/load round-trips exactly', async () => {
    const x = tf.randomNormal([2, 3, 3, 2]);
    const a = new ChannelAdapter(2, 5, { seed: 1 });
    const b = new ChannelAdapter(2, 5, { seed: 2 });
    await checkRoundTrip(a, b, x);
    const wrong = new ChannelAdapter(2, 4);
    const saved = await a.saveWeights();
    expectRelkdError(() => wrong.loadWeights(saved), 'SHAPE_MISMATCH');
    tf.dispose(x);
    for (const m of [a, b, wrong]) m.dispose();
  });

  it('leaks no tensor and rejects bad input', () => {
    const m = new ChannelAdapter(2, 3);
    const x = tf.zeros([1, 2, 2, 2]);
    const bad = tf.zeros([1, 2, 2, 3]);
    const flat = tf.zeros([1, 2]);
    const ints = tf.zeros([1, 2, 2, 2], 'int32');
    expectNoLeak(() => m.apply(x, { training: true }));
    expectRelkdError(() => m.apply(bad), 'SHAPE_MISMATCH');
    expectRelkdError(() => m.apply(flat), 'RANK_MISMATCH');
    expectRelkdError(() => m.apply(ints), 'DTYPE_MISMATCH');
    expect(() => new ChannelAdapter(0, 3)).toThrow(/inChannels/);
    expectRelkdError(() => new ChannelAdapter(2, 1.5), 'INVALID_OPTION');
    expectRelkdError(() => new ChannelAdapter(2, 3, { seed: 0.5 }), 'INVALID_OPTION');
    tf.dispose([x, bad, flat, ints]);
    m.dispose();
    expectRelkdError(() => m.apply(x), 'INVALID_OPTION'); // disposed
  });
});

describe.each(BACKENDS)('StageHead on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('golden forward (train and inference), running statistics and gradients', () => {
    const m = new StageHead({ inChannels: 2, numClasses: 3, downsample: 1 });
    checkGolden(m, headFx, {
      'block0/bn1/movingMean': headFx.moving.bn1.mean,
      'block0/bn1/movingVariance': headFx.moving.bn1.var,
      'block0/bn2/movingMean': headFx.moving.bn2.mean,
      'block0/bn2/movingVariance': headFx.moving.bn2.var,
    });
    m.dispose();
  });

  it('doubles channels per SepConv block and outputs [B, numClasses]', () => {
    for (const downsample of [0, 1, 2, 3]) {
      const h = new StageHead({ inChannels: 3, numClasses: 7, downsample, seed: 2 });
      expect(h.outChannels).toBe(3 * 2 ** downsample);
      expect(byPath(h, 'fc/kernel').shape).toEqual([3 * 2 ** downsample, 7]);
      const paths = h.namedVariables().map((v) => v.path);
      expect(paths.filter((p) => p.endsWith('dw1/kernel')).length).toBe(downsample);
      const x = tf.randomNormal([2, 9, 6, 3]);
      const y = h.apply(x, { training: true });
      expect(y.shape).toEqual([2, 7]);
      tf.dispose([x, y]);
      h.dispose();
    }
  });

  it('is seeded', () => {
    const w = (seed: number) => {
      const h = new StageHead({ inChannels: 2, numClasses: 3, downsample: 2, seed });
      const ws = h.getWeights();
      const out = ws.map((t) => Array.from(t.dataSync()));
      tf.dispose(ws);
      h.dispose();
      return out;
    };
    expect(w(1)).toEqual(w(1));
    expect(w(1)).not.toEqual(w(2));
  });

  it('trains: every variable gets a gradient (matching central differences) and SGD reduces CE', () => {
    const m = new StageHead({ inChannels: 2, numClasses: 3, downsample: 2, seed: 4 });
    const x = tf.randomNormal([6, 8, 8, 2], 0, 1, 'float32', 3);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const loss = () => crossEntropy(m.apply(x, { training: true }), y);
    checkTrainableGradients(m, loss, 200, 3e-4);
    checkSgdReduces(m, loss, 10, 0.1);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('save/load round-trips exactly', async () => {
    const x = tf.randomNormal([2, 4, 4, 2]);
    const a = new StageHead({ inChannels: 2, numClasses: 4, downsample: 2, seed: 1 });
    const b = new StageHead({ inChannels: 2, numClasses: 4, downsample: 2, seed: 2 });
    await checkRoundTrip(a, b, x);
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });

  it('leaks no tensor and rejects bad input', () => {
    const m = new StageHead({ inChannels: 2, numClasses: 3, downsample: 1 });
    const x = tf.zeros([2, 4, 4, 2]);
    const bad = tf.zeros([2, 4, 4, 3]);
    const flat = tf.zeros([2, 2]);
    expectNoLeak(() => m.apply(x, { training: true }));
    expectNoLeak(() => tf.grad((xx: tf.Tensor) => tf.sum(m.apply(xx, { training: true })))(x));
    expectRelkdError(() => m.apply(bad), 'SHAPE_MISMATCH');
    expectRelkdError(() => m.apply(flat), 'RANK_MISMATCH');
    expectRelkdError(
      () => new StageHead({ inChannels: 2, numClasses: 0, downsample: 1 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => new StageHead({ inChannels: 2, numClasses: 3, downsample: -1 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => new StageHead({ inChannels: 2, numClasses: 3, downsample: 1.5 }),
      'INVALID_OPTION',
    );
    tf.dispose([x, bad, flat]);
    m.dispose();
  });
});
