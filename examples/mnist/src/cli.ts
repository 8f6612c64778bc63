/**
 * `npm run distill [-- options]`: the relkd benchmark. Distils a small 3-stage CNN student from a
 * CNN teacher on real MNIST (or any IDX data set) with every relkd method, beside controls that
 * isolate what each method adds, with configurations tuned on a validation split, paired
 * statistics over seeds, and per-method ablations. Run `npm run distill -- --help`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, useBackend } from '@relkd/backend';
import type { ProgressStream } from '@relkd/layers';
import {
  ARMS,
  type Arm,
  ablationsOf,
  armById,
  type Config,
  configFor,
  controlsFor,
  type Family,
  METHODS,
  type Method,
} from './arms';
import { accuracyChart } from './chart';
import { IdxError } from './idx';
import {
  correlationSvg,
  type Data,
  disposeData,
  getTeacher,
  loadData,
  type Protocol,
  type RunResult,
  repoRoot,
  runStudent,
  TEACHER_HEAD_IMAGES,
  TEACHER_LR,
  teacherDir,
} from './jobs';
import { buildStudent, type Net } from './models';
import {
  type Job,
  type ParentMessage,
  runInWorkers,
  type TeacherReport,
  type WorkerMessage,
} from './pool';
import {
  type ArmSummary,
  ablationTable,
  configTable,
  consoleTable,
  fmtConfig,
  mainTable,
  mdTable,
  spliceSection,
  summarise,
  yardstickTable,
} from './report';
import { mean } from './stats';
import { checkTeacherOutputs, teacherOutputsOption } from './teacherOutputs';
import { GRIDS, loadTuned, TUNED_PATH, type TunedFile } from './tuning';

const HELP = `npm run distill [-- options]

Distils a small 3-stage CNN student (≈22 k parameters) from a CNN teacher on real MNIST (or any
IDX data set) with every relkd method, beside controls that isolate what each method adds. Every
student trains on a small seeded subset of the training images; configurations are tuned on a
held-out validation split; the test set gives the final numbers only. Reports mean ± std and, per
method, the paired difference to CE and to Hinton KD over the same seeds with a 95% t interval.

Modes (default: 2 seeds, 8 epochs, 1 000 training images):
  --quick            smoke run (1 seed, 2 epochs, 300 images, a quick teacher); writes under
                     .cache/distill-quick unless --out is given
  --full             5 seeds, 12 epochs: the published table
Tasks (default: compare the methods and their controls):
  --tune             run each family's grid (≤ 6 configurations, 2 seeds, validation accuracy)
                     and write the chosen configurations to examples/mnist/tuned.json (or
                     --out/tuned.json for another data set); takes ~15 min on 2 cores
  --ablate METHOD    turn each component of METHOD off in turn (vrm, stkd, icc, mtkd, corsd, or
                     all) and report the change against the full method
Options:
  --methods LIST     comma-separated subset of ${METHODS.join(',')} (ce is always run; each
                     method brings its controls)
  --data DIR         an IDX data set named like MNIST's (train-/t10k- images-idx3-ubyte and
                     labels-idx1-ubyte, raw or .gz), 2-256 classes, images ${'8-128'} pixels a side
  --arch NAME        3stage (default) | 2stage (the earlier 2-stage teacher and student)
  --seeds N          seeds per arm
  --epochs N         student epochs
  --train-size N     student training images (a fixed, seeded subset)
  --val-size N       validation images held out of the training split (default 5 000)
  --test-size N      test images (default: all)
  --backend NAME     auto | wasm | cpu | gpu | webgl | webgpu (default auto)
  --out DIR          where to write the report (default docs/benchmarks for MNIST)
  --no-cache         retrain the teachers and rerun every student (ignore .relkd-cache/)
  --jobs N           worker processes (default: the number of cores, at most 2); results do not
                     depend on it
  --teacher-outputs DIR  KD and STKD runs distil from precomputed outputs of a teacher (a
                     teacher.json + Parquet/.npy shards over the training split, e.g. from
                     tools/teacher-outputs/export_torch.py) instead of the live tfjs teacher;
                     with --methods kd,stkd (docs/guides/offline-teachers.md)
  --help             this text`;

/** What the command line asks for. */
interface Request {
  p: Protocol;
  methods: Method[];
  ablate: Method[];
  outGiven: boolean;
}

function parseRequest(argv: string[]): Request | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      tune: { type: 'boolean', default: false },
      ablate: { type: 'string' },
      methods: { type: 'string' },
      data: { type: 'string' },
      arch: { type: 'string', default: '3stage' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      'train-size': { type: 'string' },
      'val-size': { type: 'string' },
      'test-size': { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      out: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      jobs: { type: 'string' },
      'teacher-outputs': { type: 'string' },
      worker: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  if (values.quick && values.full) throw new Error('--quick and --full exclude each other.');
  if (values.tune && values.ablate !== undefined)
    throw new Error('--tune and --ablate exclude each other.');
  if (values.arch !== '3stage' && values.arch !== '2stage')
    throw new Error(`--arch must be 3stage or 2stage, got '${values.arch}'.`);
  const mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
  const task = values.tune ? 'tune' : values.ablate !== undefined ? 'ablate' : 'compare';
  const base = {
    quick: {
      seeds: 1,
      epochs: 2,
      trainSize: 300,
      valSize: 1000,
      testSize: 2000,
      teacherTrainSize: 4000,
      teacherEpochs: 1,
    },
    default: {
      seeds: 2,
      epochs: 8,
      trainSize: 1000,
      valSize: 5000,
      testSize: 10000,
      teacherTrainSize: 60000,
      teacherEpochs: 3,
    },
    full: {
      seeds: 5,
      epochs: 12,
      trainSize: 1000,
      valSize: 5000,
      testSize: 10000,
      teacherTrainSize: 60000,
      teacherEpochs: 3,
    },
  }[mode];
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}], got '${v}'.`);
    return n;
  };
  const methodList = (flag: string, v: string, allowAll: boolean): Method[] => {
    const asked = v
      .split(',')
      .map((m) => m.trim().toLowerCase())
      .filter((m) => m !== '');
    if (allowAll && asked.length === 1 && asked[0] === 'all') return [...METHODS];
    for (const m of asked) {
      if (!(METHODS as readonly string[]).includes(m))
        throw new Error(
          `--${flag}: unknown method '${m}'; choose from ${METHODS.join(', ')}${allowAll ? ', all' : ''}.`,
        );
    }
    return asked as Method[];
  };
  let methods: Method[] = [...METHODS];
  if (values.methods !== undefined) {
    methods = ['ce', ...methodList('methods', values.methods, false).filter((m) => m !== 'ce')];
  }
  const ablate =
    values.ablate === undefined
      ? []
      : methodList('ablate', values.ablate, true).filter((m) => ablationsOf(m).length > 0);
  if (values.ablate !== undefined && ablate.length === 0)
    throw new Error(
      '--ablate: CE and KD have no components to ablate; choose vrm, stkd, icc, mtkd, corsd or all.',
    );
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const dataDir = values.data === undefined ? undefined : resolve(cwd, values.data);
  const outGiven = values.out !== undefined;
  const out = outGiven
    ? resolve(cwd, values.out!)
    : mode === 'quick'
      ? join(repoRoot, '.cache', 'distill-quick')
      : dataDir !== undefined
        ? join(
            repoRoot,
            '.cache',
            'distill',
            createHash('sha256').update(dataDir).digest('hex').slice(0, 8),
          )
        : join(repoRoot, 'docs', 'benchmarks');
  const seeds = int(
    'seeds',
    values.seeds,
    task === 'tune' ? Math.min(2, base.seeds + 1) : base.seeds,
    1,
    100,
  );
  return {
    methods,
    ablate,
    outGiven,
    p: {
      mode,
      task,
      seeds,
      epochs: int('epochs', values.epochs, base.epochs, 1, 1000),
      trainSize: int('train-size', values['train-size'], base.trainSize, 20, 1_000_000),
      valSize: int('val-size', values['val-size'], base.valSize, 10, 1_000_000),
      testSize: int('test-size', values['test-size'], base.testSize, 10, 1_000_000),
      batchSize: 32,
      lr: 0.005,
      teacherTrainSize: base.teacherTrainSize,
      teacherEpochs: base.teacherEpochs,
      teacherLrDecay: 0.5,
      arch: values.arch as Protocol['arch'],
      dataDir,
      jobs: int('jobs', values.jobs, Math.min(2, availableParallelism()), 1, 64),
      backend: values.backend as BackendName,
      out,
      noCache: values['no-cache'],
      ...teacherOutputsOption(
        values['teacher-outputs'] === undefined
          ? undefined
          : resolve(cwd, values['teacher-outputs']),
        task,
        methods,
      ),
    },
  };
}

function teacherReport(t: Awaited<ReturnType<typeof getTeacher>>): TeacherReport {
  return {
    kind: t.kind,
    testAccuracy: t.testAccuracy,
    params: t.net.model.countParams(),
    cached: t.cached,
    trainSeconds: t.trainSeconds,
    offDiagonal: t.offDiagonal,
    headAccuracy: t.headAccuracy,
  };
}

const teacherName = (k: 'plain' | 'icc') => (k === 'plain' ? 'plain CE' : 'ICC regulariser');

/**
 * `--worker` (internal): a worker process of {@link runInWorkers}. Waits for the protocol, selects
 * the backend, loads the data once, then runs jobs until told to exit. Progress goes to the parent.
 */
async function worker(): Promise<void> {
  // The parent may have told this worker to exit already (all jobs done): then there is no one to tell.
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send?.(m);
  };
  let p: Protocol | undefined;
  let data: Data | undefined;
  let stream: ProgressStream | undefined;
  const nets: { plain?: Net; icc?: Net } = {};
  process.on('message', (m: ParentMessage) => {
    void (async () => {
      try {
        if (m.type === 'exit') {
          process.disconnect?.();
          return;
        }
        if (m.type === 'init') {
          p = m.protocol;
          stream = {
            isTTY: m.tty,
            columns: m.columns,
            write: (text: string) => send({ type: 'progress', text }),
          };
          await useBackend(p.backend);
          data = loadData(p);
          send({ type: 'ready' });
          return;
        }
        if (p === undefined || data === undefined) throw new Error('worker: job before init');
        const job = m.job;
        if (job.type === 'teacher') {
          const t = await getTeacher(job.kind, p, data, {
            evaluate: true,
            heads: job.heads,
            stream,
          });
          nets[job.kind] = t.net;
          send({ type: 'teacher', report: teacherReport(t) });
        } else {
          const kind = armById(job.arm).teacher;
          if (kind !== undefined && nets[kind] === undefined) {
            nets[kind] = (await getTeacher(kind, p, data, { evaluate: false, reuse: true })).net;
          }
          send({ type: 'student', result: await runStudent(job, p, data, nets, stream) });
        }
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        send({ type: 'error', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
      }
    })();
  });
}

/** A hash of the library and benchmark sources: cached runs are reused only by the same code. */
function codeHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        h.update(relative(repoRoot, path));
        h.update(readFileSync(path));
      }
    }
  };
  for (const pkg of readdirSync(join(repoRoot, 'packages')).sort()) {
    if (pkg !== 'bench') walk(join(repoRoot, 'packages', pkg, 'src'));
  }
  walk(join(repoRoot, 'examples', 'mnist', 'src'));
  return h.digest('hex').slice(0, 16);
}

/**
 * Runs the jobs (here or on workers), reusing finished student runs from `.relkd-cache/runs/`
 * (same code, protocol, data, arm, configuration and seed) and storing each new one as soon as it
 * ends, so an interrupted run loses nothing and `--ablate` reuses the methods' runs.
 */
async function execute(
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
  const started = Date.now();
  let finished = 0;
  const onDone = (j: Extract<Job, { type: 'student' }>, r: RunResult) => {
    store(j, r);
    finished++;
    const eta = ((Date.now() - started) / finished) * (todo.length - finished);
    if (todo.length > 1)
      console.log(
        `  [${finished}/${todo.length}] ${r.arm} seed ${r.s + 1}: val ${r.val.toFixed(2)}%${Number.isFinite(r.test) ? `, test ${r.test.toFixed(2)}%` : ''}${finished < todo.length ? ` · ~${Math.ceil(eta / 60000)} min left` : ''}`,
      );
  };
  if (p.jobs > 1 && todo.length + tJobs.length > 1) {
    console.log(`running on ${p.jobs} worker processes (--jobs ${p.jobs})`);
    teachers = (await runInWorkers(p, tJobs)) as TeacherReport[];
    fresh = (await runInWorkers(p, todo, (i, r) =>
      onDone(todo[i]!, r as RunResult),
    )) as RunResult[];
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
      const r = await runStudent(j, p, d, nets);
      onDone(j, r);
      fresh.push(r);
    }
  }
  let k = 0;
  const runs = studentJobs.map((_, i) => cached.get(i) ?? fresh[k++]!);
  return { teachers, runs };
}

function studentJobsFor(
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

/** The teacher jobs; the plain teacher also fits the MTKD-SSR stage heads when a job needs them. */
function teacherJobs(jobs: ReadonlyArray<{ arm: string; config: Config }>): Job[] {
  const heads = jobs.some(
    (j) => armById(j.arm).family === 'mtkd' && j.config.teacherHeads !== 'final',
  );
  return [
    { type: 'teacher', kind: 'plain', heads },
    { type: 'teacher', kind: 'icc', heads: false },
  ];
}

function header(req: Request, info: { name: string; threads?: number }, dataName: string): void {
  const { p } = req;
  console.log(
    `relkd distillation benchmark · ${p.task} · mode ${p.mode} · backend ${info.name}${info.threads ? ` (${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''} · ${p.arch} models`,
  );
  console.log(
    `data: ${dataName}; students train on ${p.trainSize} images, validation ${p.valSize} (held out), test ${p.testSize}`,
  );
}

/** Best-effort formatting of written JSON like the rest of the repo (biome), so lint stays clean. */
function formatJson(path: string): void {
  spawnSync(join(repoRoot, 'node_modules', '.bin', 'biome'), ['format', '--write', path], {
    cwd: repoRoot,
    stdio: 'ignore',
  });
}

async function tune(req: Request, data: Data): Promise<void> {
  const { p, methods } = req;
  const families = [
    ...methods.filter((m) => m !== 'ce'),
    ...(methods.includes('corsd') ? (['selfkd'] as const) : []),
  ] as Exclude<Family, 'ce'>[];
  const { configs } = loadTuned();
  const t0 = Date.now();
  const jobs = families.flatMap((f) => {
    const arm = ARMS.find((a) => a.family === f && a.group !== 'ablation')!;
    return GRIDS[f].flatMap((g) =>
      Array.from({ length: p.seeds }, (_, s) => ({
        type: 'student' as const,
        arm: arm.id,
        config: { ...configs[f], ...g },
        s,
        evalTest: false,
      })),
    );
  });
  console.log(`tuning ${families.join(', ')}: ${jobs.length} runs (${p.seeds} seeds each)`);
  const { runs } = await execute(p, data, teacherJobs(jobs), jobs);
  const trials: TunedFile['trials'] = [];
  const chosen: TunedFile['chosen'] = {};
  const rows: string[][] = [];
  for (const f of families) {
    const arm = ARMS.find((a) => a.family === f && a.group !== 'ablation')!;
    let best: { g: Config; v: number } | undefined;
    for (const g of GRIDS[f]) {
      const rs = runs.filter(
        (r) => r.arm === arm.id && fmtConfig(r.config) === fmtConfig({ ...configs[f], ...g }),
      );
      const v = mean(rs.map((r) => r.val));
      trials.push({ family: f, config: g, valAccuracy: v, seeds: rs.map((r) => r.seed) });
      if (best === undefined || v > best.v) best = { g, v };
      rows.push([f, fmtConfig(g), v.toFixed(2)]);
    }
    chosen[f] = best!.g;
    rows.push([f, `→ chosen: ${fmtConfig(best!.g)}`, best!.v.toFixed(2)]);
  }
  console.log(`\n${consoleTable(['Family', 'Configuration', 'Val acc. % (mean)'], rows)}`);
  const seconds = (Date.now() - t0) / 1000;
  const path =
    req.outGiven || p.dataDir !== undefined || p.mode !== 'default'
      ? join(p.out, 'tuned.json')
      : TUNED_PATH;
  const previous = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as TunedFile)
    : undefined;
  const file: TunedFile = {
    generatedAt: new Date().toISOString(),
    protocol: {
      data: data.dataset.name,
      dataHash: data.dataset.hash,
      arch: p.arch,
      seeds: p.seeds,
      epochs: p.epochs,
      trainSize: p.trainSize,
      valSize: p.valSize,
      selection: 'highest mean validation accuracy over the seeds (ties: first in grid order)',
    },
    chosen: { ...(previous?.chosen ?? {}), ...chosen },
    trials: [
      ...(previous?.trials ?? []).filter((t) => !families.includes(t.family as never)),
      ...trials,
    ],
    seconds,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  formatJson(path);
  console.log(`wrote ${path} (tuning took ${(seconds / 60).toFixed(1)} min)`);
}

function runLine(p: Protocol, info: { name: string }, minutes: number, dataName: string): string {
  return (
    `**Run:** \`${['npm run distill --', p.mode === 'default' ? '' : `--${p.mode}`, p.task === 'ablate' ? '--ablate …' : ''].filter((x) => x !== '').join(' ')}\`` +
    ` · data ${dataName} · backend \`${info.name}\` · ${p.arch} models · ${p.trainSize} training images, ${p.valSize} validation, ${p.testSize} test · ` +
    `${p.epochs} epoch${p.epochs > 1 ? 's' : ''}, ${p.seeds} seed${p.seeds > 1 ? 's' : ''}, batch ${p.batchSize}, Adam ${p.lr} with cosine decay per epoch · ` +
    `${minutes.toFixed(1)} min on ${p.jobs} worker process${p.jobs > 1 ? 'es' : ''}` +
    (p.mode === 'quick' ? ' · **smoke run: tiny budget, the numbers are NOT representative**' : '')
  );
}

async function main(): Promise<void> {
  if (process.argv.includes('--worker')) return worker();
  const req = parseRequest(process.argv.slice(2));
  if (req === undefined) return;
  const { p } = req;
  const started = Date.now();
  const info = await useBackend(p.backend);
  // Load (and check) the data before anything trains: a bad data set stops here, nothing written.
  const data = loadData(p);
  const dataName = `${data.dataset.name} (${data.dataset.height}×${data.dataset.width}, ${data.dataset.numClasses} classes, sha256 ${data.dataset.hash})`;
  header(req, info, dataName);
  if (p.teacherOutputs !== undefined) console.log(await checkTeacherOutputs(p, data));
  if (p.task === 'tune') {
    await tune(req, data);
    disposeData(data);
    return;
  }
  const { configs, file: tunedFile } = loadTuned(
    req.outGiven || p.dataDir !== undefined ? join(p.out, 'tuned.json') : TUNED_PATH,
  );
  if (tunedFile === undefined)
    console.log('no tuned.json: using the untuned default configurations');
  const arms: Arm[] =
    p.task === 'ablate'
      ? req.ablate.flatMap((m) => [armById(m), ...ablationsOf(m)])
      : [...req.methods.map((m) => armById(m)), ...controlsFor(req.methods)];
  const sJobs = studentJobsFor(arms, configs, p.seeds, true);
  const tJobs = teacherJobs(sJobs);
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
  const mdPath = join(p.out, 'mnist.md');
  const stamp = `<!-- Generated by \`npm run distill\` (${p.task}, ${p.mode}) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; do not edit between the markers. -->`;
  const toJson = (s: ArmSummary) => ({
    arm: s.arm.id,
    label: s.arm.label,
    group: s.arm.group,
    teacher: s.arm.teacher ?? 'none',
    config: s.config,
    test: s.test,
    val: s.val,
    mean: s.mean,
    std: s.std,
    secondsPerEpoch: s.secondsPerEpoch,
    curve: s.curve,
    lastLoss: s.runs.map((r) => r.lastLoss),
  });
  const protocolJson = {
    data: {
      name: data.dataset.name,
      hash: data.dataset.hash,
      height: data.dataset.height,
      width: data.dataset.width,
      numClasses: data.dataset.numClasses,
    },
    arch: p.arch,
    trainSize: p.trainSize,
    valSize: p.valSize,
    testSize: p.testSize,
    epochs: p.epochs,
    seeds: p.seeds,
    batchSize: p.batchSize,
    optimizer: `adam(${p.lr}), cosine decay per epoch`,
    teacherTrainSize: data.teacherIdx.length,
    teacherEpochs: p.teacherEpochs,
    teacherOptimizer: `adam(${TEACHER_LR}) × ${p.teacherLrDecay} per epoch`,
    jobs: p.jobs,
  };
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
  const mass = (t: TeacherReport) =>
    Object.entries(t.offDiagonal)
      .map(([tau, v]) => `${v.toFixed(2)} at τ = ${tau}`)
      .join(', ');
  const teacherMd = ts.map(
    (t) =>
      `- Teacher (${t.kind === 'plain' ? 'plain CE' : 'trained with the ICC regulariser'}): **${(100 * t.testAccuracy).toFixed(2)}%** test accuracy, ${t.params} parameters, ${data.teacherIdx.length} training images (no validation image), ${p.teacherEpochs} epoch${p.teacherEpochs > 1 ? 's' : ''}, Adam ${TEACHER_LR} × ${p.teacherLrDecay} per epoch. ` +
      `Off-diagonal share of its class correlation PᵀP on the validation split: ${mass(t)}.` +
      (t.headAccuracy === undefined
        ? ''
        : ` MTKD-SSR teacher stage heads (fitted on ${TEACHER_HEAD_IMAGES} of its training images): training accuracy ${t.headAccuracy.map((a) => `${a.toFixed(1)}%`).join(', ')} (stages 1-${t.headAccuracy.length}).`),
  );
  const studentParams = buildStudent(0, p.arch, {
    height: data.dataset.height,
    width: data.dataset.width,
    numClasses: data.dataset.numClasses,
  }).model.countParams();
  if (p.task === 'ablate') {
    const blocks: string[] = [];
    const json: Record<string, unknown> = {};
    for (const m of req.ablate) {
      const full = sums.find((s) => s.arm.id === m)!;
      const abl = sums.filter((s) => s.arm.family === m && s.arm.group === 'ablation');
      const t = ablationTable(full, abl);
      console.log(`\n${consoleTable(t.header, t.rows)}`);
      blocks.push(`#### ${full.arm.label}\n\n${mdTable(t.header, t.rows)}`);
      json[m] = [full, ...abl].map(toJson);
    }
    const name = p.mode === 'full' ? 'mnist-full-ablations' : 'mnist-ablations';
    const jsonPath = join(p.out, `${name}.json`);
    const previous = existsSync(jsonPath)
      ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { methods: Record<string, unknown> })
      : undefined;
    writeFileSync(
      jsonPath,
      `${JSON.stringify({ generatedAt: new Date().toISOString(), mode: p.mode, backend: info.name, protocol: protocolJson, methods: { ...(previous?.methods ?? {}), ...json } }, null, 2)}\n`,
    );
    formatJson(jsonPath);
    for (const m of req.ablate) {
      const i = req.ablate.indexOf(m);
      spliceSection(
        mdPath,
        `${name}-${m}`,
        `Ablation: ${armById(m).label}`,
        [stamp, '', runLine(p, info, minutes, dataName), '', blocks[i]!, ''].join('\n'),
      );
    }
    console.log(`wrote ${mdPath} and ${jsonPath}`);
    disposeData(data);
    return;
  }
  const main = mainTable(sums, p.seeds);
  const yard = yardstickTable(sums);
  const cfg = configTable(
    configs,
    Object.fromEntries(Object.entries(GRIDS).map(([f, g]) => [f, Object.keys(g[0] ?? {})])),
  );
  console.log(`\n${consoleTable(main.header, main.rows)}`);
  if (yard.rows.length > 0) console.log(`\n${consoleTable(yard.header, yard.rows)}`);
  console.log(`total ${minutes.toFixed(1)} min`);
  const name = p.mode === 'full' ? 'mnist-full' : 'mnist';
  const jsonPath = join(p.out, `${name}.json`);
  writeFileSync(
    jsonPath,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        mode: p.mode,
        backend: { name: info.name, threads: info.threads ?? null, simd: info.simd ?? null },
        protocol: protocolJson,
        teachers: ts.map((t) => ({
          kind: t.kind,
          testAccuracy: 100 * t.testAccuracy,
          params: t.params,
        })),
        studentParams,
        tuned:
          tunedFile === undefined
            ? null
            : { generatedAt: tunedFile.generatedAt, chosen: tunedFile.chosen },
        results: sums.map(toJson),
        totalSeconds: minutes * 60,
      },
      null,
      2,
    )}\n`,
  );
  formatJson(jsonPath);
  const svgName = `${name}-accuracy.svg`;
  writeFileSync(
    join(p.out, svgName),
    accuracyChart(
      sums
        .filter((s) => s.arm.group === 'method')
        .map((s) => ({ name: s.arm.label.replace(/ \(.*\)$/, ''), values: s.curve })),
      `${data.dataset.name}, ${p.trainSize} training images: validation accuracy (first 1 000 images, mean of ${p.seeds} seed${p.seeds > 1 ? 's' : ''})`,
    ),
  );
  // ICC: the class correlation of both teachers at the ICC temperature, as heat-maps.
  const heatmapMd: string[] = [];
  if (arms.some((a) => a.id === 'icc')) {
    const tau = Number(configs.icc.temperature);
    const files: string[] = [];
    for (const kind of ['plain', 'icc'] as const) {
      const t = await getTeacher(kind, p, data, { evaluate: false, reuse: true });
      const file = `${name}-correlation-${kind}.svg`;
      writeFileSync(
        join(p.out, file),
        correlationSvg(
          t.net,
          data,
          tau,
          `${kind === 'plain' ? 'plain' : 'ICC-regularised'} teacher, PᵀP at τ = ${tau}`,
        ),
      );
      t.net.model.dispose();
      files.push(`![${kind} teacher's class correlation](${file})`);
    }
    heatmapMd.push(
      `**Class correlation of the teachers** (validation split, τ = ${tau}, the ICC temperature; off-diagonal shares in the teacher lines above):`,
      '',
      files.join(' '),
      '',
    );
  }
  const md = [
    stamp,
    '',
    runLine(p, info, minutes, dataName),
    '',
    ...teacherMd,
    `- Student: ${studentParams} parameters, the same architecture and initialisation per seed for every arm.`,
    '',
    mdTable(main.header, main.rows),
    '',
    '✓ / ✗: the 95% interval of the paired difference (same seeds) excludes 0. A method *beats KD* only with ✓ in the KD column.',
    '',
    ...(yard.rows.length > 0
      ? ['**Each method against its control**', '', mdTable(yard.header, yard.rows), '']
      : []),
    `**Configurations** (${tunedFile === undefined ? 'untuned defaults: no tuned.json' : `tuned by \`--tune\` on ${tunedFile.generatedAt.slice(0, 10)}, see examples/mnist/tuned.json`})`,
    '',
    mdTable(cfg.header, cfg.rows),
    '',
    `![Validation accuracy per epoch](${svgName})`,
    '',
    ...heatmapMd,
  ].join('\n');
  spliceSection(
    mdPath,
    p.mode === 'full' ? 'full-results' : 'results',
    p.mode === 'full' ? 'Results of the full protocol' : `Results (${p.mode})`,
    md,
  );
  console.log(`wrote ${mdPath}, ${name}.json and ${svgName}`);
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
