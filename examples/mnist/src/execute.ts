/**
 * Running the CLI's jobs: teachers first, then students, here or on worker processes, with
 * finished student runs cached under `.relkd-cache/runs/` by a hash of the code and the job.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Arm, armById, type Config, configFor, type Family } from './arms';
import {
  type Data,
  getTeacher,
  loadData,
  type Protocol,
  type RunResult,
  repoRoot,
  runStudent,
  teacherDir,
} from './jobs';
import type { Net } from './models';
import { type Job, runInWorkers, type TeacherReport } from './pool';
import { sourceHash } from './sourceHash';
import { TimeLeft } from './TimeLeft';
import { teacherReport } from './workerMain';

/** A hash of the library and benchmark sources: cached runs are reused only by the same code. */
export function codeHash(): string {
  const packages = readdirSync(join(repoRoot, 'packages'))
    .sort()
    .filter((pkg) => pkg !== 'bench')
    .map((pkg) => join(repoRoot, 'packages', pkg, 'src'));
  return sourceHash(repoRoot, [...packages, join(repoRoot, 'examples', 'mnist', 'src')]);
}

/**
 * Runs the jobs (here or on workers), reusing finished student runs from `.relkd-cache/runs/`
 * (same code, protocol, data, arm, configuration and seed) and storing each new one as soon as it
 * ends, so an interrupted run loses nothing and `--ablate` reuses the methods' runs.
 */
export async function execute(
  p: Protocol,
  data: Data | undefined,
  teacherJobs: Job[],
  studentJobs: Extract<Job, { type: 'student' }>[],
): Promise<{ teachers: TeacherReport[]; runs: RunResult[] }> {
  const code = codeHash();
  const cacheDir = join(repoRoot, '.relkd-cache', 'runs');
  const keyOf = (j: Extract<Job, { type: 'student' }>) => {
    const {
      mode: _m,
      task: _t,
      seeds: _s,
      out: _o,
      jobs: _j,
      noCache: _n,
      dataDir: _d,
      ...rest
    } = p;
    const teacher = armById(j.arm).teacher;
    return createHash('sha256')
      .update(
        JSON.stringify({
          code,
          protocol: rest,
          data: data?.dataset.hash,
          teacher:
            teacher === undefined || data === undefined ? null : teacherDir(teacher, p, data),
          job: j,
        }),
      )
      .digest('hex')
      .slice(0, 24);
  };
  const cached = new Map<number, RunResult>();
  studentJobs.forEach((j, i) => {
    const f = join(cacheDir, `${keyOf(j)}.json`);
    if (!p.noCache && existsSync(f))
      cached.set(i, JSON.parse(readFileSync(f, 'utf8')) as RunResult);
  });
  const todo = studentJobs.filter((_, i) => !cached.has(i));
  if (cached.size > 0)
    console.log(
      `reusing ${cached.size} cached student run${cached.size > 1 ? 's' : ''} (.relkd-cache/runs; --no-cache reruns them)`,
    );
  const store = (j: Extract<Job, { type: 'student' }>, r: RunResult) => {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, `${keyOf(j)}.json`), JSON.stringify(r));
  };
  // Teachers are needed only by runs that are not cached.
  const kinds = new Set(todo.map((j) => armById(j.arm).teacher).filter((k) => k !== undefined));
  const tJobs = teacherJobs.filter((j) => j.type === 'teacher' && kinds.has(j.kind));
  let teachers: TeacherReport[];
  let fresh: RunResult[];
  let finished = 0;
  const timeLeft = new TimeLeft(
    todo.map((j) => runCost(j.arm)),
    Math.min(p.jobs, todo.length),
  );
  const onDone = (j: Extract<Job, { type: 'student' }>, r: RunResult, seconds: number) => {
    store(j, r);
    finished++;
    timeLeft.finish(runCost(j.arm), seconds);
    const eta = timeLeft.seconds();
    if (todo.length > 1)
      console.log(
        `  [${finished}/${todo.length}] ${r.arm} seed ${r.s + 1}: val ${r.val.toFixed(2)}%${Number.isFinite(r.test) ? `, test ${r.test.toFixed(2)}%` : ''}${finished < todo.length ? ` · ~${Math.ceil(eta / 60)} min left` : ''}`,
      );
  };
  if (p.jobs > 1 && todo.length + tJobs.length > 1) {
    console.log(`running on ${p.jobs} worker processes (--jobs ${p.jobs})`);
    // One pool for everything: the teachers start first; a student run starts as soon as a
    // worker is free and its teacher is trained (runs without a teacher do not wait), the
    // longest runs first so that no worker is left alone with a long run at the end.
    const order = longestFirst(todo);
    const jobs: Job[] = [...tJobs, ...order.map((i) => todo[i]!)];
    const after = jobs.map((j) => {
      if (j.type !== 'student') return [];
      const kind = armById(j.arm).teacher;
      const t = tJobs.findIndex((tj) => tj.type === 'teacher' && tj.kind === kind);
      return t < 0 ? [] : [t];
    });
    const results = await runInWorkers(
      p,
      jobs,
      (i, r, seconds) => {
        if (i >= tJobs.length) onDone(todo[order[i - tJobs.length]!]!, r as RunResult, seconds);
      },
      after,
    );
    teachers = results.slice(0, tJobs.length) as TeacherReport[];
    fresh = new Array<RunResult>(todo.length);
    order.forEach((t, k) => {
      fresh[t] = results[tJobs.length + k] as RunResult;
    });
  } else {
    const d = data ?? loadData(p);
    const nets: { plain?: Net; icc?: Net } = {};
    teachers = [];
    for (const j of tJobs) {
      if (j.type !== 'teacher') continue;
      const r = await getTeacher(j.kind, p, d, { evaluate: true, heads: j.heads });
      nets[j.kind] = r.net;
      teachers.push(teacherReport(r));
    }
    fresh = [];
    for (const j of todo) {
      const kind = armById(j.arm).teacher;
      if (kind !== undefined && nets[kind] === undefined)
        nets[kind] = (await getTeacher(kind, p, d, { evaluate: false, reuse: true })).net;
      const t0 = Date.now();
      const r = await runStudent(j, p, d, nets);
      onDone(j, r, (Date.now() - t0) / 1000);
      fresh.push(r);
    }
  }
  let k = 0;
  const runs = studentJobs.map((_, i) => cached.get(i) ?? fresh[k++]!);
  return { teachers, runs };
}

/**
 * Relative CPU time of one student run of an arm (CE = 1), by arm id, else by family: measured on
 * the default protocol (packages/bench/findings.md, the cold default run). Only the order in which
 * the pool starts the runs (longest first) and the time-left estimate depend on it, never a result.
 */
export const RUN_COST: Readonly<Record<string, number>> = {
  mtkd: 2.7,
  corsd: 2.6,
  vrm: 1.8,
  'kd+view': 1.5,
  icc: 1.4,
  'ce+view': 1.4,
  selfkd: 1.3,
};

/** The {@link RUN_COST} of one run of `arm` (by id, else by family, else 1). */
export function runCost(arm: string): number {
  return RUN_COST[arm] ?? RUN_COST[armById(arm).family] ?? 1;
}

/** Indices of `jobs`, the costliest runs ({@link RUN_COST}) first; ties keep the list order. */
export function longestFirst(jobs: ReadonlyArray<{ arm: string }>): number[] {
  return jobs
    .map((j, i) => ({ i, c: runCost(j.arm) }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .map((e) => e.i);
}

/** The student jobs of `arms`: one per seed, each with the arm's configuration. */
export function studentJobsFor(
  arms: readonly Arm[],
  configs: Record<Family, Config>,
  seeds: number,
  evalTest: boolean,
) {
  return arms.flatMap((arm) =>
    Array.from({ length: seeds }, (_, s) => ({
      type: 'student' as const,
      arm: arm.id,
      config: configFor(arm, configs),
      s,
      evalTest,
    })),
  );
}

/**
 * The teacher jobs; the plain teacher also fits the MTKD-SSR stage heads when a job needs them
 * (not with `offline`: `--teacher-outputs` holds the stage heads' logits).
 */
export function teacherJobs(
  jobs: ReadonlyArray<{ arm: string; config: Config }>,
  offline = false,
): Job[] {
  const heads =
    !offline &&
    jobs.some((j) => armById(j.arm).family === 'mtkd' && j.config.teacherHeads !== 'final');
  return [
    { type: 'teacher', kind: 'plain', heads },
    { type: 'teacher', kind: 'icc', heads: false },
  ];
}
