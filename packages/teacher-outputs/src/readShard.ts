import { RelkdError } from '@relkd/core';
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { decodeNpy } from './decodeNpy';
import { describeFile, type FileStore } from './FileStore';
import type { NpyShard, ParquetShard, TeacherManifest } from './TeacherManifest';

/** One shard in memory: the data set row of each of its rows and each output, C order. */
export interface ShardData {
  /** 0-based shard number in the manifest. */
  shard: number;
  /** `[n]` data set row of each shard row. */
  index: Int32Array;
  /** Output name -> `n · prod(shape)` float32 values (row-major, NHWC inside a row). */
  outputs: Record<string, Float32Array>;
  /** Bytes held by `index` and `outputs`. */
  bytes: number;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Reads and checks shard `k` of a manifest from `store`: every file present (`IO_ERROR`), the
 * index `[rows]` integers in `[0, manifest.rows)` (`DATASET_MISMATCH` otherwise), each output
 * float32 (`DTYPE_MISMATCH`) of shape `[rows, ...shape]` (`SHAPE_MISMATCH`) with finite values
 * (`NON_FINITE`, naming the data set row). Every error names the file. Holds only this shard.
 *
 * @example
 * ```ts
 * const first = await readShard(store, outputs.manifest, 0);
 * ```
 */
export async function readShard(
  store: FileStore,
  manifest: TeacherManifest,
  k: number,
): Promise<ShardData> {
  const spec = manifest.shards[k];
  if (spec === undefined) {
    throw new RelkdError(
      'INVALID_OPTION',
      `readShard: no shard ${k} (there are ${manifest.shards.length}).`,
    );
  }
  const data =
    manifest.shardFormat === 'npy'
      ? await readNpyShard(store, manifest, spec as NpyShard)
      : await readParquetShard(store, manifest, spec as ParquetShard);
  const firstFile =
    manifest.shardFormat === 'npy' ? (spec as NpyShard).index : (spec as ParquetShard).file;
  for (let i = 0; i < data.index.length; i++) {
    const row = data.index[i]!;
    if (row < 0 || row >= manifest.rows) {
      throw new RelkdError(
        'DATASET_MISMATCH',
        `${describeFile(store, firstFile)}: row ${i} has index ${row}, outside the data set's rows [0, ${manifest.rows}).`,
        { file: firstFile, row: i, index: row },
      );
    }
  }
  let bytes = data.index.byteLength;
  for (const [name, values] of Object.entries(data.outputs)) {
    bytes += values.byteLength;
    const per = size(manifest.outputs[name]!.shape);
    for (let j = 0; j < values.length; j++) {
      if (!Number.isFinite(values[j]!)) {
        const r = Math.floor(j / per);
        const file =
          manifest.shardFormat === 'npy'
            ? (spec as NpyShard).outputs[name]!
            : (spec as ParquetShard).file;
        throw new RelkdError(
          'NON_FINITE',
          `${describeFile(store, file)}: output '${name}' of row ${r} (data set row ${data.index[r]}) holds ${values[j]}; teacher outputs must be finite. Re-export the shard, or drop those rows from the training set.`,
          { file, output: name, row: r, index: data.index[r] },
        );
      }
    }
  }
  return { shard: k, ...data, bytes };
}

async function readFile(store: FileStore, name: string): Promise<ArrayBuffer> {
  const f = await store.open(name);
  return f.slice(0, f.byteLength);
}

async function readNpyShard(
  store: FileStore,
  manifest: TeacherManifest,
  spec: NpyShard,
): Promise<Omit<ShardData, 'shard' | 'bytes'>> {
  const index = decodeNpy(await readFile(store, spec.index), describeFile(store, spec.index));
  if (index.dtype === 'float32') {
    throw new RelkdError(
      'DTYPE_MISMATCH',
      `${describeFile(store, spec.index)}: the index must be int64 (or int32), got float32.`,
      { file: spec.index },
    );
  }
  if (index.shape.length !== 1 || index.shape[0] !== spec.rows) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${describeFile(store, spec.index)}: the index has shape ${shapeText(index.shape)}, expected [${spec.rows}] (the shard's rows in teacher.json).`,
      { file: spec.index, shape: index.shape },
    );
  }
  const outputs: Record<string, Float32Array> = {};
  for (const [name, out] of Object.entries(manifest.outputs)) {
    const file = spec.outputs[name]!;
    const arr = decodeNpy(await readFile(store, file), describeFile(store, file));
    if (arr.dtype !== 'float32') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `${describeFile(store, file)}: output '${name}' must be float32 ('<f4'), got ${arr.dtype}.`,
        { file, dtype: arr.dtype },
      );
    }
    const expected = [spec.rows, ...out.shape];
    if (shapeText(arr.shape) !== shapeText(expected)) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${describeFile(store, file)}: output '${name}' has shape ${shapeText(arr.shape)}, expected ${shapeText(expected)} (teacher.json).`,
        { file, shape: arr.shape, expected },
      );
    }
    outputs[name] = arr.data as Float32Array;
  }
  return { index: index.data as Int32Array, outputs };
}

async function readParquetShard(
  store: FileStore,
  manifest: TeacherManifest,
  spec: ParquetShard,
): Promise<Omit<ShardData, 'shard' | 'bytes'>> {
  const where = describeFile(store, spec.file);
  const file = await store.open(spec.file);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new RelkdError(
      'IO_ERROR',
      `${where}: not a readable Parquet file: ${(e as Error).message}.`,
      {
        file: spec.file,
      },
    );
  }
  if (Number(metadata.num_rows) !== spec.rows) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `${where}: holds ${metadata.num_rows} rows, expected ${spec.rows} (the shard's rows in teacher.json).`,
      { file: spec.file, rows: Number(metadata.num_rows) },
    );
  }
  const root = parquetSchema(metadata);
  const column = (name: string) => root.children.find((c) => c.element.name === name);
  const indexColumn = column('index');
  const indexType = indexColumn?.element.type;
  if (indexColumn === undefined || (indexType !== 'INT64' && indexType !== 'INT32')) {
    throw new RelkdError(
      indexColumn === undefined ? 'SHAPE_MISMATCH' : 'DTYPE_MISMATCH',
      `${where}: needs an integer column 'index' (INT64 or INT32)${indexColumn === undefined ? '' : `, got ${indexType}`}; columns: ${root.children.map((c) => c.element.name).join(', ')}.`,
      { file: spec.file },
    );
  }
  for (const name of Object.keys(manifest.outputs)) {
    const col = column(name);
    let leaf = col;
    while (leaf !== undefined && leaf.children.length > 0) leaf = leaf.children[0];
    if (col === undefined || leaf === undefined) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${where}: has no column '${name}' (teacher.json lists it); columns: ${root.children.map((c) => c.element.name).join(', ')}.`,
        { file: spec.file, output: name },
      );
    }
    if (leaf.element.type !== 'FLOAT') {
      throw new RelkdError(
        'DTYPE_MISMATCH',
        `${where}: column '${name}' must be a list of FLOAT (float32), got ${leaf.element.type}. Cast it when writing (DuckDB: ::FLOAT[n], pyarrow: pa.list_(pa.float32(), n)).`,
        { file: spec.file, output: name, type: leaf.element.type },
      );
    }
  }
  const n = spec.rows;
  const index = new Int32Array(n);
  const outputs: Record<string, Float32Array> = {};
  for (const [name, out] of Object.entries(manifest.outputs))
    outputs[name] = new Float32Array(n * size(out.shape));
  let failure: RelkdError | undefined;
  await parquetRead({
    file,
    metadata,
    columns: ['index', ...Object.keys(manifest.outputs)],
    onChunk: ({ columnName, columnData, rowStart }) => {
      if (failure !== undefined) return;
      if (columnName === 'index') {
        for (let i = 0; i < columnData.length; i++) {
          const v = columnData[i] as bigint | number | null;
          const num = typeof v === 'bigint' ? Number(v) : v;
          if (num === null || !Number.isInteger(num) || num < 0 || num > 0x7fffffff) {
            failure = new RelkdError(
              'DATASET_MISMATCH',
              `${where}: row ${rowStart + i} has index ${String(v)}, not a data set row.`,
              { file: spec.file, row: rowStart + i },
            );
            return;
          }
          index[rowStart + i] = num;
        }
        return;
      }
      const per = size(manifest.outputs[columnName]!.shape);
      const target = outputs[columnName]!;
      for (let i = 0; i < columnData.length; i++) {
        const v = columnData[i] as ArrayLike<number | null> | null;
        if (v === null || v === undefined || v.length !== per) {
          failure = new RelkdError(
            'SHAPE_MISMATCH',
            `${where}: column '${columnName}' row ${rowStart + i} holds ${v === null || v === undefined ? 'null' : `${v.length} values`}, expected ${per} (shape ${shapeText(manifest.outputs[columnName]!.shape)} in teacher.json).`,
            { file: spec.file, output: columnName, row: rowStart + i },
          );
          return;
        }
        const base = (rowStart + i) * per;
        for (let j = 0; j < per; j++) target[base + j] = v[j] ?? Number.NaN;
      }
    },
  });
  if (failure !== undefined) throw failure;
  return { index, outputs };
}
