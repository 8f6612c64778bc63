// Plain-node CJS smoke of the packed packages (run by tools/scripts/check-packages.mjs).
const tf = require('@tensorflow/tfjs-core');
const backend = require('@relkd/backend');
const core = require('@relkd/core');
const { runSmoke } = require('./smoke-common.cjs');

runSmoke({ tf, backend, core }, 'cjs').catch((e) => {
  console.error(e);
  process.exit(1);
});
