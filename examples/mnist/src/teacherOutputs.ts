/**
 * `--teacher-outputs DIR`: the runs that distil from the plain teacher (KD, STKD) take its
 * outputs from a teacher-outputs directory (`teacher.json` + Parquet or `.npy` shards, e.g.
 * written by tools/teacher-outputs/export_torch.py from a PyTorch teacher) instead of the live
 * tfjs teacher. The outputs cover the whole training split in IDX file order; each run uses the
 * rows of its student subset. Checked against the data set before anything trains.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OfflineTeacherSource } from '@relkd/layers';
import { fromDirectory, TeacherOutputs } from '@relkd/teacher-outputs/node';
import type { Arm, Method } from './arms';
import { type Data, type Protocol, splitIndices } from './jobs';

/** Where the outputs are and which they are (the manifest's hash: part of the run cache key). */
export interface TeacherOutputsRef {
  dir: string;
  /** First 16 hex digits of the SHA-256 of `teacher.json`. */
  id: string;
}

/** The methods whose runs can distil from offline outputs of the plain teacher. */
export const OFFLINE_METHODS: readonly Method[] = ['kd', 'stkd'];

/**
 * Parses `--teacher-outputs DIR` (undefined: not given). Only for comparing KD / STKD
 * (`--methods kd,stkd`): VRM, MTKD-SSR and CORSD need the teacher on inputs or layers the outputs
 * do not hold, and ICC distils from its own (ICC-regularised) teacher.
 */
export function teacherOutputsOption(
  dir: string | undefined,
  task: Protocol['task'],
  methods: readonly Method[],
): { teacherOutputs?: TeacherOutputsRef } {
  if (dir === undefined) return {};
  const others = methods.filter((m) => m !== 'ce' && !OFFLINE_METHODS.includes(m));
  if (task !== 'compare' || others.length > 0) {
    throw new Error(
      `--teacher-outputs works with --methods ${OFFLINE_METHODS.join(',')} (a comparison run); ${task !== 'compare' ? `not with --${task}` : `not with ${others.join(', ')}`}: they need the teacher on inputs or layers the outputs do not hold.`,
    );
  }
  const abs = resolve(dir);
  let text: string;
  try {
    text = readFileSync(join(abs, 'teacher.json'), 'utf8');
  } catch {
    throw new Error(`--teacher-outputs: ${join(abs, 'teacher.json')} not found.`);
  }
  return {
    teacherOutputs: { dir: abs, id: createHash('sha256').update(text).digest('hex').slice(0, 16) },
  };
}

const opened = new Map<string, Promise<TeacherOutputs>>();

function open(ref: TeacherOutputsRef): Promise<TeacherOutputs> {
  let o = opened.get(ref.dir);
  if (o === undefined) {
    o = TeacherOutputs.open(fromDirectory(ref.dir));
    opened.set(ref.dir, o);
  }
  return o;
}

/**
 * Checks the outputs against the whole training split (rows, labels in file order, classes,
 * every shard) and returns a line for the log. Throws the package's `RelkdError` (naming the
 * file) before anything trains.
 */
export async function checkTeacherOutputs(p: Protocol, data: Data): Promise<string> {
  const ref = p.teacherOutputs!;
  const outputs = await open(ref);
  await outputs.check({
    rows: data.train.count,
    labels: data.train.labels,
    numClasses: data.dataset.numClasses,
  });
  const m = outputs.manifest;
  const writer = typeof m.teacher?.writer === 'string' ? `, written by ${m.teacher.writer}` : '';
  return `teacher outputs: ${ref.dir} ('${m.dataset.name}', ${m.rows} rows, ${m.shards.length} ${m.shardFormat} shard${m.shards.length > 1 ? 's' : ''}${writer}) replace the live plain teacher for ${OFFLINE_METHODS.join(', ')}`;
}

/** The offline teacher of a run: the rows of its student subset, or `undefined` (live teacher). */
export async function offlineTeacherFor(
  arm: Arm,
  p: Protocol,
  data: Data,
): Promise<OfflineTeacherSource | undefined> {
  if (p.teacherOutputs === undefined || arm.teacher !== 'plain') return undefined;
  const outputs = await open(p.teacherOutputs);
  return outputs.subset(splitIndices(data.train.count, p).student);
}
