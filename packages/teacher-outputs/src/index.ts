/**
 * Offline teachers: precomputed teacher outputs (logits, stage features) from PyTorch, Spark,
 * Ray, DuckDB or tfjs, stored as a `teacher.json` manifest plus Parquet or `.npy` shards and read
 * shard by shard with bounded memory, in Node and in the browser. A {@link TeacherOutputs} is an
 * offline teacher source for `@relkd/layers`' `Distiller`.
 *
 * @module @relkd/teacher-outputs
 * @document ../README.md
 */
export { decodeNpy, NPY_MAGIC, type NpyArray, type NpyDtype } from './decodeNpy';
export { encodeNpy } from './encodeNpy';
export { describeFile, type FileStore, type RandomAccessFile } from './FileStore';
export { bufferFile, fromBuffers } from './fromBuffers';
export { fromFiles, type NamedBlob } from './fromFiles';
export { fromUrl } from './fromUrl';
export { labelsHash } from './labelsHash';
export { parseManifest } from './parseManifest';
export { readShard, type ShardData } from './readShard';
export {
  type DatasetIdentity,
  MANIFEST_FILE,
  type NpyShard,
  type ParquetShard,
  TEACHER_OUTPUTS_FORMAT,
  TEACHER_OUTPUTS_VERSION,
  type TeacherManifest,
  type TeacherOutputSpec,
} from './TeacherManifest';
export {
  type GatheredOutputs,
  TeacherOutputs,
  type TeacherOutputsOptions,
  type TeacherOutputsStats,
  type TeacherOutputsSubset,
  type TrainingDataInfo,
} from './TeacherOutputs';
