// Plain-node ESM smoke of the packed packages (run by tools/scripts/check-packages.mjs).

import * as backend from '@relkd/backend';
import * as core from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import common from './smoke-common.cjs';

await common.runSmoke({ tf, backend, core }, 'esm');
