import { RelkdError } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import { labelsHash } from '../labelsHash';
import type { TeacherManifest } from '../TeacherManifest';
import { TeacherOutputsWriter } from './TeacherOutputsWriter';

/** What the teacher returns on a batch: `[B, C]` logits, or logits plus named features. */
export type TeacherFunction = (
  x: tf.Tensor,
) => tf.Tensor | { logits: tf.Tensor; features?: Record<string, tf.Tensor> };

/** Options of {@link exportTeacherOutputs}. */
export interface ExportTeacherOutputsOptions {
  /** Data set name stored in the manifest (e.g. `'mnist-train'`). */
  datasetName: string;
  /** `[N]` integer labels in row order: stored as `dataset.labelsHash` (recommended). */
  labels?: ArrayLike<number>;
  /** Rows per forward pass. Default 256. */
  batchSize?: number;
  /** Rows per shard. Default 10 000. */
  shardRows?: number;
  /** Free-form description of the teacher for the manifest. */
  teacher?: Record<string, unknown>;
}

/**
 * Runs a tfjs teacher over every row of `x` (`[N, ...]`, NHWC images) in order, in inference
 * batches, and writes its outputs to `dir` as `.npy` shards plus `teacher.json` (Node). `teacher`
 * is a function of a batch: `(x) => model.predict(x) as tf.Tensor` for logits only, a
 * `@relkd/layers` tap (`tap(model, { features: [...] })`) to store stage features too, or a live
 * MTKD-SSR recipe's `(x) => recipe.teacherOutputs(x)` (`@relkd/layers/recipes/mtkd`: pooled stage
 * outputs `stage1 …` and the fitted teacher stage heads' logits `stage1_logits …`, what an offline
 * MTKD-SSR run reads).
 *
 * @example
 * ```ts
 * await exportTeacherOutputs('./teacher-outputs', (b) => teacher.predict(b) as tf.Tensor, x,
 *   { datasetName: 'toy', labels: await y.data() });
 * ```
 */
export async function exportTeacherOutputs(
  dir: string,
  teacher: TeacherFunction,
  x: tf.Tensor,
  options: ExportTeacherOutputsOptions,
): Promise<TeacherManifest> {
  const n = x.shape[0];
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RelkdError(
      'INVALID_OPTION',
      `exportTeacherOutputs: batchSize must be an integer >= 1, got ${batchSize}.`,
    );
  }
  if (options.labels !== undefined && options.labels.length !== n) {
    throw new RelkdError(
      'SHAPE_MISMATCH',
      `exportTeacherOutputs: ${options.labels.length} labels for ${n} rows of x.`,
    );
  }
  let writer: TeacherOutputsWriter | undefined;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const outputs = tf.tidy(() => {
      const r = teacher(tf.slice(x, start, size));
      return r instanceof tf.Tensor ? { logits: r } : { logits: r.logits, ...(r.features ?? {}) };
    });
    try {
      writer ??= await TeacherOutputsWriter.create(dir, {
        dataset: {
          name: options.datasetName,
          ...(options.labels === undefined ? {} : { labelsHash: labelsHash(options.labels) }),
        },
        outputs: Object.fromEntries(
          Object.entries(outputs).map(([k, t]) => [k, { shape: t.shape.slice(1) }]),
        ),
        ...(options.shardRows === undefined ? {} : { shardRows: options.shardRows }),
        ...(options.teacher === undefined ? {} : { teacher: options.teacher }),
      });
      await writer.append(
        Array.from({ length: size }, (_, i) => start + i),
        outputs,
      );
    } finally {
      tf.dispose(Object.values(outputs));
    }
  }
  if (writer === undefined)
    throw new RelkdError('EMPTY_BATCH', 'exportTeacherOutputs: x has no rows.');
  return writer.close();
}
