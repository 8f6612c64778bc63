// Shared body of the plain-node smoke tests of the PACKED packages (see check-packages.mjs).
// smoke.mjs (ESM `import`) and smoke.cjs (CJS `require`) load the modules their own way and
// hand them here, so both resolution paths are exercised.
'use strict';

function close(a, b, tol, what) {
  if (!(Math.abs(a - b) <= tol * (1 + Math.abs(b)))) throw new Error(`${what}: ${a} != ${b}`);
}

async function runSmoke(mods, label) {
  const { tf, backend, core } = mods;
  for (const name of ['cpu', 'wasm']) {
    const info = await backend.useBackend(name);
    if (tf.getBackend() !== name || info.gradients !== true)
      throw new Error(`useBackend(${name}) failed`);
    const s = tf.tensor2d([
      [1, 2, 3],
      [0, -1, 2],
    ]);
    const t = tf.tensor2d([
      [3, 2, 1],
      [1, 1, 1],
    ]);
    // kdLoss = T^2 * batchmean KL(softmax(t/T) || softmax(s/T)); value checked against float64 numpy.
    const value = core.kdLoss(s, t, { temperature: 2 }).dataSync()[0];
    close(value, 1.0384929932, 1e-5, `${label}/${name} kdLoss`);
    const g = tf.grad((x) => core.kdLoss(x, t, { temperature: 2 }))(s);
    const rowSums = tf.sum(g, 1).dataSync();
    close(rowSums[0], 0, 1e-5, `${label}/${name} grad row sum`);
    for (const check of mods.extraChecks ?? []) await check(tf, name);
    console.log(`${label} ${name}: ok (kdLoss ${value.toFixed(6)})`);
  }
}

module.exports = { runSmoke, close };
