/**
 * `@relkd/layers/node`: models on disk in plain Node, without tfjs-node. Importing this entry
 * registers `file://` load and save routers with tfjs-core's IO registry (a no-op when tfjs-node
 * registered its own), so `tfl.loadLayersModel('file://dir/model.json')` and
 * `model.save('file://dir')` read and write tfjs-node's layout (`model.json` + `weights.bin`).
 * Saves are atomic; missing or corrupt files throw `RelkdError` `IO_ERROR`.
 *
 * @example
 * ```ts
 * import '@relkd/layers/node';
 * import * as tfl from '@tensorflow/tfjs-layers';
 *
 * const teacher = await tfl.loadLayersModel('file://teacher/model.json');
 * await teacher.save('file://backup/teacher');
 * ```
 * @module @relkd/layers/node
 */
import { registerFileRouters } from './node/routers';

registerFileRouters();

export { fileSystem, loadFromDirectory, saveToDirectory } from './node/files';
export { registerFileRouters } from './node/routers';
