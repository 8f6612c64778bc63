/** The `format` value of every `teacher.json`. */
export const TEACHER_OUTPUTS_FORMAT = 'relkd-teacher-outputs';

/** The format version this package reads and writes. */
export const TEACHER_OUTPUTS_VERSION = 1;

/** The file name of the manifest inside a teacher-outputs directory. */
export const MANIFEST_FILE = 'teacher.json';

/** One named teacher output: float32 `[rows, ...shape]` (NHWC for feature maps). */
export interface TeacherOutputSpec {
  /** Per-row shape, e.g. `[10]` for logits or `[7, 7, 16]` for a stage feature map (NHWC). */
  shape: number[];
  /** Always `'float32'` in version 1. */
  dtype: 'float32';
}

/** Which data set (and which row order) the outputs belong to. */
export interface DatasetIdentity {
  /** A name for humans and errors, e.g. `'mnist-train'`. */
  name: string;
  /**
   * Optional fingerprint of the labels in row order ({@link labelsHash}); when present, training
   * data whose labels hash differently is refused (`DATASET_MISMATCH`).
   */
  labelsHash?: string;
}

/** A `.npy` shard: an int64 (or int32) `[n]` index file plus one float32 `[n, ...shape]` file per output. */
export interface NpyShard {
  rows: number;
  /** The index file, e.g. `index-0.npy`: the data set row of each of the shard's rows. */
  index: string;
  /** Output name -> file, e.g. `{ logits: 'logits-0.npy' }`. */
  outputs: Record<string, string>;
}

/**
 * A Parquet shard: an integer `index` column plus one column per output, a list of
 * `prod(shape)` float32 values per row (C order), e.g. DuckDB's `FLOAT[10]`.
 */
export interface ParquetShard {
  rows: number;
  file: string;
}

/** The manifest (`teacher.json`) of a teacher-outputs directory. */
export interface TeacherManifest {
  format: typeof TEACHER_OUTPUTS_FORMAT;
  version: typeof TEACHER_OUTPUTS_VERSION;
  dataset: DatasetIdentity;
  /** The number of rows: every data set row `0 … rows − 1` appears in exactly one shard. */
  rows: number;
  /** Output name -> spec. `logits` (`[C]`) is required. */
  outputs: Record<string, TeacherOutputSpec>;
  shardFormat: 'npy' | 'parquet';
  shards: Array<NpyShard | ParquetShard>;
  /** Free-form description of the teacher (framework, architecture, accuracy). */
  teacher?: Record<string, unknown>;
}
