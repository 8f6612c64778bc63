// Plain-node ESM smoke of the packed packages (run by tools/scripts/check-packages.mjs).
import * as affinity from '@relkd/affinity-graph';
import * as backend from '@relkd/backend';
import * as icc from '@relkd/class-correlation';
import * as core from '@relkd/core';
import * as layers from '@relkd/layers';
import * as layersMethods from '@relkd/layers/methods';
import * as layersNode from '@relkd/layers/node';
import * as mixup from '@relkd/mixup-similarity';
import * as relation from '@relkd/relation-network';
import * as stage from '@relkd/stage-distill';
import * as teacherOutputs from '@relkd/teacher-outputs';
import * as teacherOutputsNode from '@relkd/teacher-outputs/node';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import common from './smoke-common.cjs';

// Every recipe subpath the registry names, imported on its own.
const layersRecipes = Object.fromEntries(
  await Promise.all(
    layersMethods.methodNames.map(async (n) => [n, await import(`@relkd/layers/recipes/${n}`)]),
  ),
);

await common.runSmoke(
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
  'esm',
);
