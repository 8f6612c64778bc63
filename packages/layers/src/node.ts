/**
 * `@relkd/layers/node`: models on disk in plain Node, without tfjs-node. Importing this entry
 * registers `file://` load and save routers with tfjs-core's IO registry (a no-op when tfjs-node
 * registered its own), so `tfl.loadLayersModel('file://dir/model.json')` and
 * `model.save('file://dir')` read and write tfjs-node's layout (`model.json` + `weights.bin`).
 * Saves are atomic; missing or corrupt files throw `RelkdError` `IO_ERROR`. It also gives
 * `Distiller.save(dir)` and `Distiller.load(dir)` their directory reader and writer (the main
 * entry has no file I/O: without this import they accept tfjs URLs and `IOHandler`s only).
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
import { setDirectoryIO } from './distiller/checkpoint';
import { loadFromDirectory, saveToDirectory } from './node/files';
import { registerFileRouters } from './node/routers';

registerFileRouters();
// `Distiller.save(dir)` / `load(dir)` (paths and file:// URLs) read and write through these.
setDirectoryIO({ save: saveToDirectory, load: loadFromDirectory });

export { fileSystem, loadFromDirectory, saveToDirectory } from './node/files';
export { registerFileRouters } from './node/routers';
