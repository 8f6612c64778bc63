import { RelkdError, Rng } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { describeFile, type FileStore } from './FileStore';
import { labelsHash } from './labelsHash';
import { parseManifest } from './parseManifest';
import { readShard, type ShardData } from './readShard';
import { MANIFEST_FILE, type TeacherManifest } from './TeacherManifest';

/** Options of {@link TeacherOutputs.open}. */
export interface TeacherOutputsOptions {
  /**
   * Most bytes of decoded shards kept in memory between {@link TeacherOutputs.gather} calls
   * (least recently used shards are dropped first). Peak memory is this plus one shard.
   * Default 256 MiB; `0` keeps no shard (each batch re-reads the shards it touches).
   */
  cacheBytes?: number;
}

/** What {@link TeacherOutputs.check} compares the outputs with: the training data. */
export interface TrainingDataInfo {
  /** Rows of the training set (`SHAPE_MISMATCH` when the manifest has another count). */
  rows?: number;
  /** `[rows]` integer labels in row order, compared with `dataset.labelsHash` when present (`DATASET_MISMATCH`). */
  labels?: ArrayLike<number>;
  /** The student's class count, compared with the logits' width (`SHAPE_MISMATCH`). */
  numClasses?: number;
  /** The data set's expected name, compared with `dataset.name` (`DATASET_MISMATCH`). */
  datasetName?: string;
}

/** Teacher outputs of a batch: `logits` `[B, C]` and every other output as `features[name]` `[B, ...shape]`. */
export interface GatheredOutputs {
  logits: tf.Tensor;
  features: Record<string, tf.Tensor>;
}

/** Counters of shard I/O (for memory and cost measurements). */
export interface TeacherOutputsStats {
  /** Shards read and decoded so far (re-reads included). */
  shardReads: number;
  /** Bytes of decoded shards in the cache now. */
  cachedBytes: number;
  /** Most bytes of decoded shards held at once (cache plus the shard being read). */
  peakBytes: number;
}

/** What {@link TeacherOutputs.subset} returns: an offline teacher source over some rows. */
export interface TeacherOutputsSubset {
  readonly rowCount: number;
  /** The outputs' per-row shapes (those of the whole set, {@link TeacherOutputs.outputShapes}). */
  readonly outputShapes: Readonly<Record<string, readonly number[]>>;
  /** Where the outputs are, for messages ({@link TeacherOutputs.description}). */
  readonly description: string;
  prepare(info: TrainingDataInfo): Promise<void>;
  gather(indices: ArrayLike<number>): Promise<GatheredOutputs>;
}

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Precomputed teacher outputs (a `teacher.json` manifest plus `.npy` or Parquet shards), read
 * shard by shard with bounded memory; see docs/guides/offline-teachers.md for the format.
 *
 * Pass it to `Distiller` as `teacher` (it is an offline teacher source: `prepare` checks it
 * against the training data before the first step, `gather` resolves a batch's rows by data set
 * index, so shuffling works) or read it yourself: {@link TeacherOutputs.shards} streams every
 * shard once, {@link TeacherOutputs.gather} returns the rows you ask for as tensors.
 *
 * @example
 * ```ts
 * import { fromDirectory } from '@relkd/teacher-outputs/node';
 * const outputs = await TeacherOutputs.open(fromDirectory('./teacher-outputs'));
 * await outputs.check({ rows: 60000, numClasses: 10 });
 * const { logits } = await outputs.gather([5, 1, 42]);   // [3, 10]
 * ```
 */
export class TeacherOutputs {
  readonly manifest: TeacherManifest;
  readonly store: FileStore;
  private readonly cacheBytes: number;
  /** LRU order: the last entry was used last. */
  private readonly cache = new Map<number, ShardData>();
  private rowShard: Int32Array | undefined;
  private rowOffset: Int32Array | undefined;
  private readonly statsValue: TeacherOutputsStats = {
    shardReads: 0,
    cachedBytes: 0,
    peakBytes: 0,
  };

  private constructor(manifest: TeacherManifest, store: FileStore, options: TeacherOutputsOptions) {
    this.manifest = manifest;
    this.store = store;
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isFinite(cacheBytes) || cacheBytes < 0) {
      throw new RelkdError(
        'INVALID_OPTION',
        `TeacherOutputs.open: cacheBytes must be a number >= 0, got ${cacheBytes}.`,
      );
    }
    this.cacheBytes = cacheBytes;
  }

  /**
   * Reads and checks `teacher.json` from `store` (no shard is read yet).
   *
   * @throws RelkdError `IO_ERROR` (missing or invalid manifest, naming it), `INVALID_OPTION`.
   */
  static async open(
    store: FileStore,
    options: TeacherOutputsOptions = {},
  ): Promise<TeacherOutputs> {
    const file = await store.open(MANIFEST_FILE);
    const text = new TextDecoder().decode(await file.slice(0, file.byteLength));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new RelkdError(
        'IO_ERROR',
        `${describeFile(store, MANIFEST_FILE)}: not valid JSON: ${(e as Error).message}.`,
        { file: MANIFEST_FILE },
      );
    }
    return new TeacherOutputs(
      parseManifest(json, describeFile(store, MANIFEST_FILE)),
      store,
      options,
    );
  }

  /** Number of data set rows the outputs cover. */
  get rowCount(): number {
    return this.manifest.rows;
  }

  /** The logits' width `C`. */
  get numClasses(): number {
    return this.manifest.outputs.logits!.shape[0]!;
  }

  /**
   * Per-row shape of every output by name (`logits` `[C]`, features e.g. `[7, 7, 32]` or `[32]`),
   * from the manifest: what recipes that size modules from the teacher read (MTKD-SSR's stage
   * widths) before any shard is read.
   */
  get outputShapes(): Readonly<Record<string, readonly number[]>> {
    return Object.fromEntries(
      Object.entries(this.manifest.outputs).map(([name, spec]) => [name, [...spec.shape]]),
    );
  }

  /** Where the outputs are, for messages: the manifest's path or URL (e.g. `/data/out/teacher.json`). */
  get description(): string {
    return describeFile(this.store, MANIFEST_FILE);
  }

  /** Names of the outputs other than `logits` (the `features` of {@link TeacherOutputs.gather}). */
  get featureNames(): string[] {
    return Object.keys(this.manifest.outputs).filter((n) => n !== 'logits');
  }

  /** Shard I/O counters. */
  get stats(): Readonly<TeacherOutputsStats> {
    return { ...this.statsValue };
  }

  /**
   * Streams the shards in manifest order, each read and checked (see {@link readShard}); only the
   * shard being yielded is held (plus the cache, which this does not fill).
   */
  async *shards(): AsyncGenerator<ShardData> {
    for (let k = 0; k < this.manifest.shards.length; k++) yield await this.read(k);
  }

  /**
   * Checks the outputs against the training data before training, streaming every shard once
   * (one in memory at a time; shards that fit `cacheBytes` stay cached for `gather`): every file
   * present and well-formed, each data set row in exactly one shard, all values finite, and
   * `info` (row count, class count, labels fingerprint, data set name) matching. Runs the shard
   * pass once per instance; `info` is compared on every call.
   *
   * @throws RelkdError `IO_ERROR`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `NON_FINITE`,
   *   `DATASET_MISMATCH`; every message names the file.
   */
  async check(info: TrainingDataInfo = {}): Promise<void> {
    const where = describeFile(this.store, MANIFEST_FILE);
    const { dataset } = this.manifest;
    if (info.rows !== undefined && info.rows !== this.manifest.rows) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${where}: the teacher outputs cover ${this.manifest.rows} rows of '${dataset.name}' but the training data has ${info.rows}; export the outputs for this data set.`,
        { file: MANIFEST_FILE, rows: this.manifest.rows, expected: info.rows },
      );
    }
    if (info.numClasses !== undefined && info.numClasses !== this.numClasses) {
      throw new RelkdError(
        'SHAPE_MISMATCH',
        `${where}: the teacher's logits have ${this.numClasses} classes but the student outputs ${info.numClasses}.`,
        { file: MANIFEST_FILE, numClasses: this.numClasses, expected: info.numClasses },
      );
    }
    if (info.datasetName !== undefined && info.datasetName !== dataset.name) {
      throw new RelkdError(
        'DATASET_MISMATCH',
        `${where}: the outputs are for data set '${dataset.name}', not '${info.datasetName}'.`,
        { file: MANIFEST_FILE, dataset: dataset.name, expected: info.datasetName },
      );
    }
    if (info.labels !== undefined && dataset.labelsHash !== undefined) {
      const actual = labelsHash(info.labels);
      if (actual !== dataset.labelsHash) {
        throw new RelkdError(
          'DATASET_MISMATCH',
          `${where}: the training labels hash to ${actual} but the outputs were computed on rows whose labels hash to ${dataset.labelsHash} ('${dataset.name}'): another data set, or the same one in another order.`,
          { file: MANIFEST_FILE, labelsHash: actual, expected: dataset.labelsHash },
        );
      }
    }
    await this.indexRows();
  }

  /**
   * The `Distiller`'s offline-teacher hook: {@link TeacherOutputs.check} with the training data's
   * rows, labels and the student's class count.
   */
  prepare(info: TrainingDataInfo): Promise<void> {
    return this.check(info);
  }

  /**
   * The outputs of data set rows `indices` (in that order) as new tensors: `logits` `[B, C]` and
   * `features[name]` `[B, ...shape]`. Reads the shards it needs that are not cached, one at a
   * time; the caller disposes the tensors. Runs {@link TeacherOutputs.check} first if it has not run.
   *
   * @throws RelkdError `INVALID_OPTION` (an index that is not an integer in `[0, rowCount)`).
   */
  async gather(indices: ArrayLike<number>): Promise<GatheredOutputs> {
    await this.indexRows();
    const b = indices.length;
    const n = this.manifest.rows;
    for (let i = 0; i < b; i++) {
      const r = indices[i]!;
      if (!Number.isInteger(r) || r < 0 || r >= n) {
        throw new RelkdError(
          'INVALID_OPTION',
          `TeacherOutputs.gather: indices[${i}] = ${r} is not a row in [0, ${n}).`,
        );
      }
    }
    const specs = Object.entries(this.manifest.outputs);
    const out: Record<string, Float32Array> = {};
    for (const [name, spec] of specs)
      out[name] = new Float32Array(b * spec.shape.reduce((x, y) => x * y, 1));
    // Positions of the batch by shard, so each shard is visited once per call.
    const byShard = new Map<number, number[]>();
    for (let i = 0; i < b; i++) {
      const k = this.rowShard![indices[i]!]!;
      const list = byShard.get(k);
      if (list === undefined) byShard.set(k, [i]);
      else list.push(i);
    }
    for (const [k, positions] of byShard) {
      const shard = this.cache.get(k) ?? (await this.read(k));
      for (const [name, spec] of specs) {
        const per = spec.shape.reduce((x, y) => x * y, 1);
        const src = shard.outputs[name]!;
        const dst = out[name]!;
        for (const i of positions) {
          const off = this.rowOffset![indices[i]!]! * per;
          dst.set(src.subarray(off, off + per), i * per);
        }
      }
      this.remember(shard);
    }
    const features: Record<string, tf.Tensor> = {};
    for (const [name, spec] of specs)
      if (name !== 'logits') features[name] = tf.tensor(out[name]!, [b, ...spec.shape], 'float32');
    return { logits: tf.tensor(out.logits!, [b, this.numClasses], 'float32'), features };
  }

  /**
   * The outputs of some data set rows as an offline teacher source of their own: position `i`
   * is data set row `rows[i]`. For training on a subset or a split of the data set the outputs
   * were computed on (check the whole set first: `check({ rows, labels })` with all its labels).
   * Its `prepare` checks the subset's row count and the class count.
   *
   * @example
   * ```ts
   * const trainSplit = outputs.subset(trainRows);  // teacher: trainSplit in a Distiller
   * ```
   */
  subset(rows: ArrayLike<number>): TeacherOutputsSubset {
    const map = Int32Array.from(rows as ArrayLike<number>);
    map.forEach((r, i) => {
      if (!Number.isInteger(rows[i]) || r < 0 || r >= this.manifest.rows) {
        throw new RelkdError(
          'INVALID_OPTION',
          `TeacherOutputs.subset: rows[${i}] = ${rows[i]} is not a row in [0, ${this.manifest.rows}).`,
        );
      }
    });
    const prepare = async (info: TrainingDataInfo): Promise<void> => {
      if (info.rows !== undefined && info.rows !== map.length) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `${describeFile(this.store, MANIFEST_FILE)}: the subset has ${map.length} rows but the training data has ${info.rows}.`,
          { file: MANIFEST_FILE, rows: map.length, expected: info.rows },
        );
      }
      await this.check(info.numClasses === undefined ? {} : { numClasses: info.numClasses });
    };
    return {
      rowCount: map.length,
      outputShapes: this.outputShapes,
      description: this.description,
      prepare,
      gather: async (indices) => {
        const mapped = new Int32Array(indices.length);
        for (let i = 0; i < indices.length; i++) {
          const k = indices[i]!;
          if (!Number.isInteger(k) || k < 0 || k >= map.length) {
            throw new RelkdError(
              'INVALID_OPTION',
              `TeacherOutputs subset: indices[${i}] = ${k} is not a row in [0, ${map.length}).`,
            );
          }
          mapped[i] = map[k]!;
        }
        return this.gather(mapped);
      },
    };
  }

  /**
   * A shard-aware sample order for `Distiller`'s `sampler` option, for training on the whole data
   * set the outputs cover (row `i` of the training data = data set row `i`): each epoch visits the
   * shards in a seeded random order, `window` shards at a time, and shuffles the rows within each
   * window. A batch then touches at most `2 · window` shards, so with `cacheBytes` of about
   * `2 · window` shards every shard is read once per epoch instead of once per batch (which is
   * what a fully shuffled order costs once the cache holds fewer shards than the data set).
   * Needs the row map of {@link TeacherOutputs.check} (which `Distiller.fit` runs first).
   *
   * @throws RelkdError `INVALID_OPTION` (`window` not an integer >= 1; called before `check`),
   *   `SHAPE_MISMATCH` (training data of another length).
   * @example
   * ```ts
   * const distiller = new Distiller({ teacher: outputs, student, sampler: outputs.sampler({ window: 2 }), ...kd() });
   * ```
   */
  sampler(
    options: { window?: number } = {},
  ): (args: { labels: ArrayLike<number>; seed: number; epoch: number }) => number[] {
    const window = options.window ?? 2;
    if (!Number.isInteger(window) || window < 1) {
      throw new RelkdError(
        'INVALID_OPTION',
        `TeacherOutputs.sampler: window must be an integer >= 1, got ${window}.`,
      );
    }
    return ({ labels, seed, epoch }) => {
      const n = this.manifest.rows;
      if (labels.length !== n) {
        throw new RelkdError(
          'SHAPE_MISMATCH',
          `TeacherOutputs.sampler: the training data has ${labels.length} rows but the outputs cover ${n}; the sampler orders the whole data set (use subset() without it for a part).`,
        );
      }
      const rowShard = this.rowShard;
      if (rowShard === undefined) {
        throw new RelkdError(
          'INVALID_OPTION',
          'TeacherOutputs.sampler: the outputs are not checked yet; await outputs.check() first (Distiller.fit does, unless validate: "none").',
        );
      }
      const byShard: number[][] = this.manifest.shards.map(() => []);
      for (let r = 0; r < n; r++) byShard[rowShard[r]!]!.push(r);
      const rng = new Rng((seed * 1_000_003 + epoch * 7919 + 17) >>> 0);
      const shards = rng.permutation(byShard.length);
      const order: number[] = [];
      for (let w = 0; w < shards.length; w += window) {
        const rows = shards.slice(w, w + window).flatMap((k) => byShard[k]!);
        for (const i of rng.permutation(rows.length)) order.push(rows[i]!);
      }
      return order;
    };
  }

  /** Drops every cached shard. */
  dispose(): void {
    this.cache.clear();
    this.statsValue.cachedBytes = 0;
  }

  private async read(k: number): Promise<ShardData> {
    const shard = await readShard(this.store, this.manifest, k);
    this.statsValue.shardReads++;
    this.statsValue.peakBytes = Math.max(
      this.statsValue.peakBytes,
      this.statsValue.cachedBytes + shard.bytes,
    );
    return shard;
  }

  /** Puts `shard` last in the LRU order and evicts down to `cacheBytes`. */
  private remember(shard: ShardData): void {
    if (this.cache.has(shard.shard)) {
      this.cache.delete(shard.shard);
      this.cache.set(shard.shard, shard);
      return;
    }
    this.cache.set(shard.shard, shard);
    this.statsValue.cachedBytes += shard.bytes;
    for (const [k, s] of this.cache) {
      if (this.statsValue.cachedBytes <= this.cacheBytes) break;
      this.cache.delete(k);
      this.statsValue.cachedBytes -= s.bytes;
    }
  }

  /** One pass over the shards: which shard and offset hold each data set row. */
  private async indexRows(): Promise<void> {
    if (this.rowShard !== undefined) return;
    const n = this.manifest.rows;
    const rowShard = new Int32Array(n).fill(-1);
    const rowOffset = new Int32Array(n);
    for (let k = 0; k < this.manifest.shards.length; k++) {
      const shard = await this.read(k);
      const spec = this.manifest.shards[k]!;
      const file = 'file' in spec ? spec.file : spec.index;
      for (let i = 0; i < shard.index.length; i++) {
        const row = shard.index[i]!;
        if (rowShard[row] !== -1) {
          throw new RelkdError(
            'DATASET_MISMATCH',
            `${describeFile(this.store, file)}: data set row ${row} appears again (row ${i}; first in shard ${rowShard[row]}); each row must be in exactly one shard.`,
            { file, row: i, index: row },
          );
        }
        rowShard[row] = k;
        rowOffset[row] = i;
      }
      this.remember(shard);
    }
    // Rows sum to `rows` (manifest check) and none repeats, so every row is present.
    this.rowShard = rowShard;
    this.rowOffset = rowOffset;
  }
}
