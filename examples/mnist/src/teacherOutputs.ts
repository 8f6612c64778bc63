/**
 * `--teacher-outputs DIR`: the runs that distil from the plain teacher (KD, STKD, MTKD-SSR) take its
 * outputs from a teacher-outputs directory (`teacher.json` + Parquet or `.npy` shards, e.g.
 * written by tools/teacher-outputs/export_torch.py from a PyTorch teacher) instead of the live
 * tfjs teacher. The outputs cover the whole training split in IDX file order; each run uses the
 * rows of its student subset. Checked against the data set before anything trains. MTKD-SSR reads
 * the stored stage outputs `stage1 … stageK` and, with teacher stage heads (the default), their
 * logits `stage1_logits …` (`export_torch.py --stages --pooled --stage-logits`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OfflineTeacherSource } from '@relkd/layers';
import { mtkdOfflineStageShapes } from '@relkd/layers/recipes/mtkd';
import { fromDirectory, TeacherOutputs } from '@relkd/teacher-outputs/node';
import { type Arm, armById, type Config, type Method } from './arms';
import { type Data, type Protocol, splitIndices } from './jobs';

/** Where the outputs are and which they are (the manifest's hash: part of the run cache key). */
export interface TeacherOutputsRef {
  dir: string;
  /** First 16 hex digits of the SHA-256 of `teacher.json`. */
  id: string;
}

/** The methods whose runs can distil from offline outputs of the plain teacher. */
export const OFFLINE_METHODS: readonly Method[] = ['kd', 'stkd', 'mtkd'];

/**
 * The stage outputs an MTKD-SSR run reads from the stored outputs: `stage1`, `stage2`, … (the
 * names `export_torch.py --stages` writes), in order, as many as are stored.
 */
export function offlineStageNames(source: OfflineTeacherSource): string[] {
  return Object.keys(source.outputShapes ?? {})
    .filter((n) => /^stage\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
}

/**
 * Parses `--teacher-outputs DIR` (undefined: not given). Only for comparing KD / STKD / MTKD-SSR
 * (`--methods kd,stkd,mtkd`): VRM and CORSD need the teacher on inputs the outputs do not hold (or
 * no teacher), and ICC distils from its own (ICC-regularised) teacher.
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
 * every shard) and against what the runs of `jobs` read (MTKD-SSR: the stage outputs and, unless
 * `teacherHeads: 'final'`, the stage heads' logits), and returns a line for the log. Throws the
 * package's `RelkdError` (naming the file and the missing output) before anything trains.
 */
export async function checkTeacherOutputs(
  p: Protocol,
  data: Data,
  jobs: ReadonlyArray<{ arm: string; config: Config }> = [],
): Promise<string> {
  const ref = p.teacherOutputs!;
  const outputs = await open(ref);
  const stageNames = offlineStageNames(outputs);
  for (const job of jobs) {
    const arm = armById(job.arm);
    if (arm.family !== 'mtkd' || arm.teacher !== 'plain') continue;
    mtkdOfflineStageShapes(
      outputs,
      stageNames.length > 0 ? stageNames : ['stage1'],
      job.config.teacherHeads === 'final' ? 'final' : 'pretrain',
    );
  }
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
