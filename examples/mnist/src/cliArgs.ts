/**
 * The command line of `npm run distill`: its help text and `parseRequest`, which turns the flags
 * (`node:util` `parseArgs`, strict: unknown flags are errors) into a {@link Request}.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendName } from '@relkd/backend';
import { ablationsOf, METHODS, type Method } from './arms';
import { type Protocol, repoRoot } from './jobs';
import { teacherOutputsOption } from './teacherOutputs';

export const HELP = `npm run distill [-- options]

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
  --allow-software-adapter  let --backend webgpu run on a software adapter (SwiftShader):
                     checks the route at CPU speed, not a GPU measurement
  --out DIR          where to write the report (default docs/benchmarks for MNIST); for MNIST a
                     tuned.json in DIR, if any, replaces examples/mnist/tuned.json
  --no-cache         retrain the teachers and rerun every student (ignore .relkd-cache/)
  --jobs N           worker processes (default: the number of cores, at most 2); results do not
                     depend on it
  --teacher-outputs DIR  KD, STKD and MTKD-SSR runs distil from precomputed outputs of a
                     teacher (a teacher.json + Parquet/.npy shards over the training split, e.g.
                     from tools/teacher-outputs/export_torch.py; MTKD-SSR also reads the stage
                     outputs stage1.. and stage-head logits stage1_logits..) instead of the live
                     tfjs teacher; with --methods kd,stkd,mtkd (docs/guides/offline-teachers.md)
  --help             this text`;

/** What the command line asks for. */
export interface Request {
  p: Protocol;
  methods: Method[];
  ablate: Method[];
  outGiven: boolean;
}

/** `useBackend` options from `--allow-software-adapter` (set in the parent, inherited by workers). */
export function backendOptions(): { allowSoftwareAdapter: boolean } {
  return { allowSoftwareAdapter: process.env.RELKD_ALLOW_SOFTWARE_ADAPTER === '1' };
}

export function parseRequest(argv: string[]): Request | undefined {
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
      'allow-software-adapter': { type: 'boolean', default: false },
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
  // Through the environment, so that the worker processes (which inherit it) choose alike.
  if (values['allow-software-adapter']) process.env.RELKD_ALLOW_SOFTWARE_ADAPTER = '1';
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
