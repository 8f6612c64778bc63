// Plain-Node ESM smoke test of the BUILT @relkd/backend (run `npm run build -w @relkd/backend`
// first). Uses only @tensorflow/tfjs-core + tfjs-backend-cpu/-wasm (no @tensorflow/tfjs union),
// the way an application installs it. Exits non-zero on any failure.
import assert from 'node:assert/strict';
import { crossEntropy } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

// 1. Before useBackend: tfjs-core alone has no gradients, and losses say so.
await tf.setBackend('cpu');
assert.equal(tf.getGradient('Multiply'), undefined, 'tfjs-core alone should register no gradients');
assert.throws(
  () =>
    tf.grad((x) => crossEntropy(x, tf.tensor1d([0, 1], 'int32')))(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    ),
  (e) => e.code === 'GRADIENTS_NOT_REGISTERED',
);

const { useBackend, describeBackend } = await import('@relkd/backend');

const f = (x) => tf.sum(tf.mul(tf.exp(x), tf.softmax(x)));
const x0 = [0, 1, 2];
const results = {};
for (const name of ['cpu', 'wasm']) {
  const info = await useBackend(name);
  assert.equal(info.name, name);
  assert.equal(tf.getBackend(), name);
  assert.equal(info.gradients, true);
  const g = tf.grad(f)(tf.tensor1d(x0));
  // conv2d / depthwise / gather gradients (WASM gaps) w.r.t. filter and params
  const x = tf.tensor4d(
    Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)),
    [2, 5, 5, 3],
  );
  const w = tf.tensor4d(
    Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
    [3, 3, 3, 4],
  );
  const dw = tf.tensor4d(
    Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.cos(2 * i)),
    [3, 3, 3, 2],
  );
  const table = tf.tensor2d(
    Array.from({ length: 5 * 3 }, (_, i) => i / 7),
    [5, 3],
  );
  const ids = tf.tensor1d([4, 0, 4, 2], 'int32');
  const gConv = tf.grad((k) => tf.sum(tf.square(tf.conv2d(x, k, 2, 'same'))))(w);
  const [gDx, gDw] = tf.grads((xx, k) => tf.sum(tf.square(tf.depthwiseConv2d(xx, k, 1, 'valid'))))([
    x,
    dw,
  ]);
  const gGather = tf.grad((t) => tf.sum(tf.square(tf.gather(t, ids))))(table);
  results[name] = [g, gConv, gDx, gDw, gGather].map((t) => Array.from(t.dataSync()));
  console.log(`ok ${name}: ${describeBackend()}`);
}
for (let i = 0; i < results.cpu.length; i++) {
  const a = results.cpu[i];
  const b = results.wasm[i];
  assert.equal(a.length, b.length);
  for (let j = 0; j < a.length; j++) {
    assert.ok(
      Math.abs(a[j] - b[j]) <= 1e-4 + 1e-4 * Math.abs(a[j]),
      `gradient ${i}[${j}]: cpu ${a[j]} vs wasm ${b[j]}`,
    );
  }
}

// Every gradient family the build bundles (tfjs-core's gradient files, now importing the public
// tfjs-core API): analytic gradients match central differences on cpu (float32, loose tolerance:
// this catches a wrong op, not rounding). Not here: tf.prod, whose tfjs-core gradient calls the
// chained `tensor.reshape` (registered only by @tensorflow/tfjs).
await useBackend('cpu');
const seq = (n, k = 1) => Array.from({ length: n }, (_, i) => 0.55 + 0.25 * Math.sin(k * i + 1));
const t = (shape, k = 1) =>
  tf.tensor(
    seq(
      shape.reduce((a, b) => a * b, 1),
      k,
    ),
    shape,
  );
const cases = {
  addBroadcast: [(a) => tf.add(a, t([3], 2)), [2, 3]],
  subBroadcast: [(a) => tf.sub(t([2, 1], 3), a), [2, 3]],
  mulDivPow: [(a) => tf.div(tf.mul(a, t([2, 3], 2)), tf.pow(a, tf.scalar(1.5))), [2, 3]],
  maxMinSqDiff: [
    (a) => tf.add(tf.maximum(a, 0.5), tf.squaredDifference(tf.minimum(a, 0.6), t([3], 4))),
    [2, 3],
  ],
  unary: [
    (a) =>
      tf.addN([
        tf.abs(a),
        tf.acos(a),
        tf.asin(a),
        tf.atan(a),
        tf.atan2(a, 1.3),
        tf.cos(a),
        tf.sin(a),
        tf.tan(a),
        tf.tanh(a),
        tf.sigmoid(a),
        tf.softplus(a),
        tf.elu(a),
        tf.selu(a),
        tf.leakyRelu(a, 0.1),
        tf.exp(a),
        tf.expm1(a),
        tf.log(a),
        tf.log1p(a),
        tf.sqrt(a),
        tf.rsqrt(a),
        tf.square(a),
        tf.reciprocal(a),
        tf.erf(a),
        tf.sinh(a),
        tf.cosh(a),
        tf.asinh(a),
        tf.atanh(tf.mul(a, 0.5)),
        tf.acosh(tf.add(a, 1.5)),
        tf.clipByValue(a, 0.1, 0.7),
      ]),
    [7],
  ],
  reductions: [
    (a) =>
      tf.addN([
        tf.sum(a, 1, true),
        tf.mean(a, 1, true),
        tf.max(a, 1, true),
        tf.min(a, 1, true),
        tf.logSumExp(a, 1, true),
      ]),
    [3, 4],
  ],
  cumsum: [(a) => tf.cumsum(a, 1, false, true), [2, 4]],
  softmaxes: [(a) => tf.add(tf.softmax(a), tf.logSoftmax(a)), [2, 4]],
  shapes: [
    (a) => {
      const r23 = (v) => tf.reshape(v, [2, 3]);
      return tf.concat(
        [
          r23(tf.transpose(a)),
          tf.slice(tf.tile(a, [2, 1]), [1, 0], [2, 2]),
          tf.reverse(a, 1),
          tf.slice(
            tf.pad(a, [
              [1, 0],
              [0, 1],
            ]),
            [0, 0],
            [2, 3],
          ),
          // tfjs' MirrorPad gradient keeps only the centre (the reflected copies get none)
          tf.slice(
            tf.mirrorPad(
              a,
              [
                [1, 1],
                [0, 0],
              ],
              'reflect',
            ),
            [1, 0],
            [2, 3],
          ),
          tf.stack(tf.unstack(a)),
          tf.concat(tf.split(a, [1, 2], 1), 1),
          tf.broadcastTo(tf.sum(a, 0, true), [2, 3]),
          r23(tf.gather(a, tf.tensor1d([2, 0, 0], 'int32'), 1)),
          tf.where(tf.greater(t([2, 3], 5), 0.55), a, tf.mul(a, 2)),
          tf.squeeze(tf.expandDims(a, 1), [1]),
        ],
        1,
      );
    },
    [2, 3],
  ],
  matMul: [(a) => tf.matMul(a, t([3, 2], 2), true, false), [3, 4]],
  batchNorm: [
    (a) => tf.batchNorm(a, t([3], 2), tf.add(t([3], 3), 1), t([3], 4), t([3], 5)),
    [2, 3],
  ],
  prelu: [(a) => tf.prelu(tf.sub(a, 0.5), t([3], 6)), [2, 3]],
  conv2d: [(k) => tf.conv2d(t([1, 5, 5, 2], 2), k, 2, 'same'), [3, 3, 2, 2]],
  conv2dInput: [(a) => tf.conv2d(a, t([3, 3, 2, 2], 3), 1, 'valid'), [1, 4, 4, 2]],
  conv2dTranspose: [
    (a) => tf.conv2dTranspose(a, t([2, 2, 2, 3], 3), [1, 4, 4, 2], 2, 'same'),
    [1, 2, 2, 3],
  ],
  depthwise: [(a) => tf.depthwiseConv2d(a, t([2, 2, 2, 1], 2), 1, 'valid'), [1, 3, 3, 2]],
  conv3d: [(a) => tf.conv3d(a, t([2, 2, 2, 1, 2], 2), 1, 'valid'), [1, 3, 3, 3, 1]],
  pools: [(a) => tf.add(tf.avgPool(a, 2, 1, 'valid'), tf.maxPool(a, 2, 1, 'valid')), [1, 3, 3, 2]],
  pools3d: [
    (a) => tf.add(tf.avgPool3d(a, 2, 1, 'valid'), tf.maxPool3d(a, 2, 1, 'valid')),
    [1, 3, 3, 3, 1],
  ],
  resize: [
    (a) => tf.add(tf.image.resizeBilinear(a, [4, 4]), tf.image.resizeNearestNeighbor(a, [4, 4])),
    [1, 2, 2, 1],
  ],
  lrn: [(a) => tf.localResponseNormalization(a, 1), [1, 2, 2, 3]],
  spaceBatch: [
    (a) =>
      tf.batchToSpaceND(
        tf.spaceToBatchND(
          a,
          [2, 2],
          [
            [0, 0],
            [0, 0],
          ],
        ),
        [2, 2],
        [
          [0, 0],
          [0, 0],
        ],
      ),
    [1, 4, 4, 1],
  ],
  dilation2d: [(a) => tf.dilation2d(a, t([2, 2, 1], 2), 1, 'valid'), [1, 3, 3, 1]],
};
for (const [name, [fn, shape]] of Object.entries(cases)) {
  const x = t(shape, 7);
  const n = x.size;
  const r = t(fn(x).shape, 11);
  const loss = (v) => tf.sum(tf.mul(fn(v), r));
  const analytic = tf.grad(loss)(x).dataSync();
  const base = x.dataSync();
  const eps = 1e-3;
  for (let i = 0; i < n; i++) {
    const at = (d) => {
      const v = Float32Array.from(base);
      v[i] += d;
      return loss(tf.tensor(v, shape)).dataSync()[0];
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(
      Math.abs(analytic[i] - numeric) <= 2e-2 * (1 + Math.abs(numeric)),
      `${name}: d/dx[${i}] analytic ${analytic[i]} vs central difference ${numeric}`,
    );
  }
}
console.log(`ok gradients: ${Object.keys(cases).length} op families match central differences`);

const auto = await useBackend('auto');
assert.equal(auto.name, 'wasm');
console.log(`ok auto -> ${auto.name}; tried: ${auto.tried.join(' | ')}`);
console.log('smoke.mjs: all good');
