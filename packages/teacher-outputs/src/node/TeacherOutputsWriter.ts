import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { encodeNpy } from '../encodeNpy';
import {
  type DatasetIdentity,
  MANIFEST_FILE,
  type NpyShard,
  TEACHER_OUTPUTS_FORMAT,
  TEACHER_OUTPUTS_VERSION,
  type TeacherManifest,
} from '../TeacherManifest';

/** Options of {@link TeacherOutputsWriter.create}. */
export interface TeacherOutputsWriterOptions {
  /** The data set the outputs are computed on (name, and `labelsHash` of its labels in row order). */
  dataset: DatasetIdentity;
  /** Output name -> per-row shape; `logits` (`[C]`) is required. */
  outputs: Record<string, { shape: number[] }>;
  /** Rows per shard. Default 10 000. */
  shardRows?: number;
  /** Free-form description stored in the manifest's `teacher` field. */
  teacher?: Record<string, unknown>;
}

/**
 * Writes teacher outputs as `.npy` shards (`index-K.npy` int64, `NAME-K.npy` float32) and, on
 * {@link TeacherOutputsWriter.close}, the `teacher.json` manifest (Node). Every file is written
 * to a temporary name and renamed, and the manifest comes last: an interrupted export leaves no
 * readable directory behind, never a partial one.
 *
 * @example
 * ```ts
 * const writer = await TeacherOutputsWriter.create('./out', {
 *   dataset: { name: 'toy' }, outputs: { logits: { shape: [2] } } });
 * await writer.append([0, 1], { logits: new Float32Array([1, 2, 3, 4]) });
 * await writer.close();
 * ```
 */
export class TeacherOutputsWriter {
  private readonly dir: string;
  private readonly options: TeacherOutputsWriterOptions;
  private readonly shardRows: number;
  private readonly shards: NpyShard[] = [];
  private pendingIndex: number[] = [];
  private pending: Record<string, number[]> = {};
  private rows = 0;
  private closed = false;

  private constructor(dir: string, options: TeacherOutputsWriterOptions, shardRows: number) {
    this.dir = dir;
    this.options = options;
    this.shardRows = shardRows;
    for (const name of Object.keys(options.outputs)) this.pending[name] = [];
  }

  /** Creates `dir` (and parents) and removes a `teacher.json` already there. */
  static async create(
    dir: string,
    options: TeacherOutputsWriterOptions,
  ): Promise<TeacherOutputsWriter> {
    const shardRows = options.shardRows ?? 10_000;
    if (!Number.isInteger(shardRows) || shardRows < 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        `TeacherOutputsWriter: shardRows must be an integer >= 1, got ${shardRows}.`,
      );
    }
    const logits = options.outputs?.logits;
    if (logits === undefined || logits.shape.length !== 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        "TeacherOutputsWriter: outputs must include 'logits' with shape [C].",
      );
    }
    const root = resolve(dir);
    await mkdir(root, { recursive: true });
    await rm(join(root, MANIFEST_FILE), { force: true });
    return new TeacherOutputsWriter(root, options, shardRows);
  }

  /**
   * Adds rows: `index` (data set rows, `[b]`) and each output as `b · prod(shape)` values (a
   * `Float32Array` or a `[b, ...shape]` tensor, read here and not disposed). Writes a shard each
   * time `shardRows` rows are pending.
   */
  async append(
    index: ArrayLike<number>,
    outputs: Record<string, Float32Array | tf.Tensor>,
  ): Promise<void> {
    if (this.closed)
      throw new RelkdError('INVALID_OPTION', 'TeacherOutputsWriter: already closed.');
    const b = index.length;
    for (const [name, spec] of Object.entries(this.options.outputs)) {
      const value = outputs[name];
      if (value === undefined) {
        throw new RelkdError(
          'INVALID_OPTION',
          `TeacherOutputsWriter.append: output '${name}' missing.`,
        );
      }
      const per = spec.shape.reduce((x, y) => x * y, 1);
      const data = value instanceof tf.Tensor ? await value.data() : value;
      if (data.length !== b * per) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `TeacherOutputsWriter.append: output '${name}' has ${data.length} values for ${b} rows of shape [${spec.shape.join(', ')}] (${b * per} expected).`,
        );
      }
      const list = this.pending[name]!;
      for (let i = 0; i < data.length; i++) list.push(data[i]!);
    }
    for (let i = 0; i < b; i++) this.pendingIndex.push(index[i]!);
    while (this.pendingIndex.length >= this.shardRows) await this.flush(this.shardRows);
  }

  /** Writes the last shard and the manifest; returns the manifest. */
  async close(): Promise<TeacherManifest> {
    if (this.closed)
      throw new RelkdError('INVALID_OPTION', 'TeacherOutputsWriter: already closed.');
    if (this.pendingIndex.length > 0) await this.flush(this.pendingIndex.length);
    this.closed = true;
    const manifest: TeacherManifest = {
      format: TEACHER_OUTPUTS_FORMAT,
      version: TEACHER_OUTPUTS_VERSION,
      dataset: this.options.dataset,
      rows: this.rows,
      outputs: Object.fromEntries(
        Object.entries(this.options.outputs).map(([n, s]) => [
          n,
          { shape: [...s.shape], dtype: 'float32' as const },
        ]),
      ),
      shardFormat: 'npy',
      shards: this.shards,
      ...(this.options.teacher === undefined ? {} : { teacher: this.options.teacher }),
    };
    await this.write(
      MANIFEST_FILE,
      new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    );
    return manifest;
  }

  private async flush(count: number): Promise<void> {
    const k = this.shards.length;
    const index = this.pendingIndex.slice(0, count);
    this.pendingIndex = this.pendingIndex.slice(count);
    const files: Record<string, string> = {};
    await this.write(`index-${k}.npy`, encodeNpy(index, [count], 'int64'));
    for (const [name, spec] of Object.entries(this.options.outputs)) {
      const per = spec.shape.reduce((x, y) => x * y, 1);
      const values = this.pending[name]!;
      const file = `${name}-${k}.npy`;
      await this.write(
        file,
        encodeNpy(
          new Float32Array(values.slice(0, count * per)),
          [count, ...spec.shape],
          'float32',
        ),
      );
      this.pending[name] = values.slice(count * per);
      files[name] = file;
    }
    this.shards.push({ rows: count, index: `index-${k}.npy`, outputs: files });
    this.rows += count;
  }

  private async write(name: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, bytes);
    await rename(`${path}.tmp`, path);
  }
}
