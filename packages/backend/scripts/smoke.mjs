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
const auto = await useBackend('auto');
assert.equal(auto.name, 'wasm');
console.log(`ok auto -> ${auto.name}; tried: ${auto.tried.join(' | ')}`);
console.log('smoke.mjs: all good');
