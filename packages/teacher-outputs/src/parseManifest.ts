import { RelkdError } from '@relkd/core';
import {
  type NpyShard,
  type ParquetShard,
  TEACHER_OUTPUTS_FORMAT,
  TEACHER_OUTPUTS_VERSION,
  type TeacherManifest,
  type TeacherOutputSpec,
} from './TeacherManifest';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

/** A relative file name inside the directory: no absolute path, no `..`, no backslash. */
function isFileName(x: unknown): x is string {
  return (
    typeof x === 'string' &&
    x !== '' &&
    !x.startsWith('/') &&
    !x.includes('\\') &&
    !x.split('/').some((p) => p === '..' || p === '.' || p === '')
  );
}

/**
 * Checks a parsed `teacher.json` against the offline-teacher format (version 1) and returns it
 * typed: `format`/`version`, `dataset.name` (and optional `labelsHash`), `rows`, `outputs` (float32,
 * positive integer shapes, `logits` present), `shardFormat` (`'npy'` | `'parquet'`) and `shards`
 * (relative file names, an index and one file per output for `.npy`, rows summing to `rows`).
 * `file` names the manifest in errors. Reads no shard.
 *
 * @throws RelkdError `IO_ERROR` naming `file` and the offending field.
 * @example
 * ```ts
 * const manifest = parseManifest(JSON.parse(text), 'teacher.json');
 * ```
 */
export function parseManifest(json: unknown, file: string): TeacherManifest {
  const bad = (what: string): never => {
    throw new RelkdError('IO_ERROR', `${file}: not a valid teacher-outputs manifest: ${what}.`, {
      file,
    });
  };
  if (!isRecord(json)) return bad('expected a JSON object');
  if (json.format !== TEACHER_OUTPUTS_FORMAT)
    bad(`format must be '${TEACHER_OUTPUTS_FORMAT}', got ${JSON.stringify(json.format)}`);
  if (json.version !== TEACHER_OUTPUTS_VERSION)
    bad(
      `version ${JSON.stringify(json.version)} is not supported (this reader knows version ${TEACHER_OUTPUTS_VERSION})`,
    );
  const { dataset, rows, outputs, shardFormat, shards } = json;
  if (!isRecord(dataset) || typeof dataset.name !== 'string' || dataset.name === '')
    bad('dataset.name must be a non-empty string');
  const ds = dataset as Record<string, unknown>;
  if (ds.labelsHash !== undefined && typeof ds.labelsHash !== 'string')
    bad('dataset.labelsHash must be a string');
  if (!isCount(rows) || rows === 0) bad(`rows must be a positive integer, got ${String(rows)}`);
  if (!isRecord(outputs) || Object.keys(outputs).length === 0)
    bad('outputs must map output names to { shape, dtype }');
  const specs: Record<string, TeacherOutputSpec> = {};
  for (const [name, spec] of Object.entries(outputs as Record<string, unknown>)) {
    if (!NAME.test(name) || name === 'index')
      bad(`output name '${name}' must match ${NAME} and not be 'index'`);
    if (!isRecord(spec) || !Array.isArray(spec.shape) || spec.shape.length === 0)
      bad(`outputs.${name}.shape must be a non-empty array`);
    const shape = (spec as { shape: unknown[] }).shape;
    if (!shape.every((d) => isCount(d) && d > 0))
      bad(`outputs.${name}.shape must hold positive integers, got ${JSON.stringify(shape)}`);
    if ((spec as Record<string, unknown>).dtype !== 'float32')
      bad(`outputs.${name}.dtype must be 'float32'`);
    specs[name] = { shape: shape as number[], dtype: 'float32' };
  }
  if (specs.logits === undefined || specs.logits.shape.length !== 1)
    bad("outputs must include 'logits' of shape [C]");
  if (shardFormat !== 'npy' && shardFormat !== 'parquet')
    bad(`shardFormat must be 'npy' or 'parquet', got ${JSON.stringify(shardFormat)}`);
  if (!Array.isArray(shards) || shards.length === 0) bad('shards must be a non-empty array');
  let total = 0;
  const parsed = (shards as unknown[]).map((s, k): NpyShard | ParquetShard => {
    if (!isRecord(s) || !isCount(s.rows)) return bad(`shards[${k}].rows must be an integer >= 0`);
    total += s.rows;
    if (shardFormat === 'parquet') {
      if (!isFileName(s.file)) bad(`shards[${k}].file must be a relative file name`);
      return { rows: s.rows, file: s.file as string };
    }
    if (!isFileName(s.index)) bad(`shards[${k}].index must be a relative file name`);
    if (!isRecord(s.outputs)) return bad(`shards[${k}].outputs must map output names to files`);
    const files: Record<string, string> = {};
    for (const name of Object.keys(specs)) {
      const f = s.outputs[name];
      if (!isFileName(f)) bad(`shards[${k}].outputs.${name} must be a relative file name`);
      files[name] = f as string;
    }
    const extra = Object.keys(s.outputs).filter((n) => specs[n] === undefined);
    if (extra.length > 0) bad(`shards[${k}].outputs has unknown output(s) ${extra.join(', ')}`);
    return { rows: s.rows, index: s.index as string, outputs: files };
  });
  if (total !== rows) bad(`the shards hold ${total} rows in all but rows is ${String(rows)}`);
  const manifest: TeacherManifest = {
    format: TEACHER_OUTPUTS_FORMAT,
    version: TEACHER_OUTPUTS_VERSION,
    dataset: {
      name: ds.name as string,
      ...(typeof ds.labelsHash === 'string' ? { labelsHash: ds.labelsHash } : {}),
    },
    rows: rows as number,
    outputs: specs,
    shardFormat: shardFormat as 'npy' | 'parquet',
    shards: parsed,
  };
  if (isRecord(json.teacher)) manifest.teacher = json.teacher;
  return manifest;
}
