// Plain-Node CommonJS smoke test of the BUILT @relkd/backend (see smoke.mjs).
const assert = require('node:assert/strict');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const { crossEntropy } = require('@relkd/core');

(async () => {
  require('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
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
  const { useBackend, describeBackend, registerGradients } = require('@relkd/backend');
  for (const name of ['cpu', 'wasm']) {
    const info = await useBackend(name);
    assert.equal(info.name, name);
    const g = tf.grad((x) => crossEntropy(x, tf.tensor1d([0, 1], 'int32')))(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
    const w = tf.tensor4d(
      Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => Math.cos(i)),
      [2, 2, 3, 2],
    );
    const x = tf.ones([1, 4, 4, 3]);
    const gw = tf.grad((k) => tf.sum(tf.conv2d(x, k, 1, 'valid')))(w);
    // every filter tap sees 3x3 ones
    assert.ok(Array.from(gw.dataSync()).every((v) => Math.abs(v - 9) < 1e-5));
    console.log(`ok ${name}: ${describeBackend()}`);
  }
  assert.equal(registerGradients(), 0, 'a second registration adds nothing');
  // the side-effect entry loads in CJS too
  require('@relkd/backend/gradients');
  console.log('smoke.cjs: all good');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
