// Plain-node CJS smoke of the packed packages (run by tools/scripts/check-packages.mjs).
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const backend = require('@relkd/backend');
const core = require('@relkd/core');
const affinity = require('@relkd/affinity-graph');
const mixup = require('@relkd/mixup-similarity');
const icc = require('@relkd/class-correlation');
const stage = require('@relkd/stage-distill');
const relation = require('@relkd/relation-network');
const teacherOutputs = require('@relkd/teacher-outputs');
const teacherOutputsNode = require('@relkd/teacher-outputs/node');
const layers = require('@relkd/layers');
const layersNode = require('@relkd/layers/node');
const layersMethods = require('@relkd/layers/methods');
// Every recipe subpath the registry names, required on its own.
const layersRecipes = Object.fromEntries(
  layersMethods.methodNames.map((n) => [n, require(`@relkd/layers/recipes/${n}`)]),
);
const { runSmoke } = require('./smoke-common.cjs');

runSmoke(
  {
    tf,
    tfl,
    backend,
    core,
    affinity,
    mixup,
    icc,
    stage,
    relation,
    layers,
    layersNode,
    layersMethods,
    layersRecipes,
    teacherOutputs,
    teacherOutputsNode,
  },
  'cjs',
).catch((e) => {
  console.error(e);
  process.exit(1);
});
