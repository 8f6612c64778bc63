/**
 * `npm run distill [-- options]`: the relkd benchmark. Distils a small 3-stage CNN student from a
 * CNN teacher on real MNIST (or any IDX data set) with every relkd method, beside controls that
 * isolate what each method adds, with configurations tuned on a validation split, paired
 * statistics over seeds, and per-method ablations. Run `npm run distill -- --help`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { useBackend } from '@relkd/backend';
import { type Arm, ablationsOf, armById, controlsFor } from './arms';
import { backendOptions, HELP, parseRequest } from './cliArgs';
import { execute, studentJobsFor, teacherJobs } from './execute';
import { IdxError } from './idx';
import { disposeData, getTeacher, loadData } from './jobs';
import { buildStudent } from './models';
import type { TeacherReport } from './pool';
import {
  header,
  type ReportContext,
  teacherName,
  writeAblationReport,
  writeCompareReport,
} from './renderers';
import { summarise } from './report';
import { checkTeacherOutputs } from './teacherOutputs';
import { tune } from './tune';
import { loadTuned, TUNED_PATH } from './tuning';
import { teacherReport, worker } from './workerMain';

async function main(): Promise<void> {
  if (process.argv.includes('--worker')) return worker();
  const req = parseRequest(process.argv.slice(2));
  if (req === undefined) return;
  const { p } = req;
  const started = Date.now();
  const info = await useBackend(p.backend, backendOptions());
  // Load (and check) the data before anything trains: a bad data set stops here, nothing written.
  const data = loadData(p);
  const dataName = `${data.dataset.name} (${data.dataset.height}×${data.dataset.width}, ${data.dataset.numClasses} classes, sha256 ${data.dataset.hash})`;
  header(req, info, dataName);
  if (p.task === 'tune') {
    await tune(req, data);
    disposeData(data);
    return;
  }
  // Another data set reads its own --out/tuned.json; MNIST reads examples/mnist/tuned.json unless
  // --out holds a tuning of its own (e.g. from `--tune --out DIR`).
  const ownTuned = join(p.out, 'tuned.json');
  const { configs, file: tunedFile } = loadTuned(
    p.dataDir !== undefined || (req.outGiven && existsSync(ownTuned)) ? ownTuned : TUNED_PATH,
  );
  if (tunedFile === undefined)
    console.log('no tuned.json: using the untuned default configurations');
  const arms: Arm[] =
    p.task === 'ablate'
      ? req.ablate.flatMap((m) => [armById(m), ...ablationsOf(m)])
      : [...req.methods.map((m) => armById(m)), ...controlsFor(req.methods)];
  const sJobs = studentJobsFor(arms, configs, p.seeds, true);
  // Before anything trains: the outputs against the data set, and what the runs read from them.
  if (p.teacherOutputs !== undefined) console.log(await checkTeacherOutputs(p, data, sJobs));
  const tJobs = teacherJobs(sJobs, p.teacherOutputs !== undefined);
  const { teachers, runs } = await execute(p, data, tJobs, sJobs);
  for (const t of teachers)
    console.log(
      `teacher (${teacherName(t.kind)}): test accuracy ${(100 * t.testAccuracy).toFixed(2)}%${t.cached ? ' (cached)' : ` (trained in ${t.trainSeconds.toFixed(0)} s)`}`,
    );
  const sums = summarise(
    arms.map((a) => a.id),
    runs,
  );
  const minutes = (Date.now() - started) / 60000;
  mkdirSync(p.out, { recursive: true });
  const teacherLines = async () => {
    // Teachers of cached runs were not loaded: report them from the cache (accuracy measured now).
    const have = new Map(teachers.map((t) => [t.kind, t]));
    const kinds = [...new Set(arms.map((a) => a.teacher).filter((k) => k !== undefined))];
    const out: TeacherReport[] = [];
    for (const k of kinds) {
      const heads = tJobs.some((j) => j.type === 'teacher' && j.kind === k && j.heads);
      out.push(
        have.get(k) ??
          teacherReport(await getTeacher(k, p, data, { evaluate: true, reuse: true, heads })),
      );
    }
    return out;
  };
  const ts = await teacherLines();
  const studentParams = buildStudent(0, p.arch, {
    height: data.dataset.height,
    width: data.dataset.width,
    numClasses: data.dataset.numClasses,
  }).model.countParams();
  const context: ReportContext = {
    req,
    info,
    data,
    dataName,
    arms,
    sums,
    teachers: ts,
    configs,
    tunedFile,
    minutes,
    studentParams,
  };
  if (p.task === 'ablate') writeAblationReport(context);
  else await writeCompareReport(context);
  disposeData(data);
}

main().catch((e: unknown) => {
  if (e instanceof IdxError) {
    console.error(`data error: ${e.message}`);
  } else if (e instanceof Error) {
    const code = (e as { code?: string }).code ?? '';
    console.error(code.startsWith('ERR_PARSE_ARGS') ? `${e.message}\n\n${HELP}` : e.message);
    if (process.env.RELKD_DEBUG) console.error(e.stack);
  } else {
    console.error(e);
  }
  process.exitCode = 1;
});
