/**
 * The units of work of `npm run distill`: train (or load) a teacher, train one student run. Each
 * runs in the CLI process (`--jobs 1`) or in a worker process (see `pool.ts`); a run's result
 * depends only on the protocol, its arm, configuration and seed, not on where it runs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@relkd/backend';
import { classCorrelation, correlationHeatmapSvg, offDiagonalMass } from '@relkd/class-correlation';
import { FusedAdamOptimizer, type SavedWeights } from '@relkd/core';
import { Distiller, type DistillerParts, evaluateModel, type ProgressStream } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import { iccTeacher } from '@relkd/layers/recipes/icc';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@relkd/layers/node';
import { armById, type Config } from './arms';
import { type IdxDataset, IdxError, type ImageSplit, loadIdxDataset } from './idx';
import { type Arch, buildStudent, buildTeacher, MAX_SIDE, MIN_SIDE, type Net } from './models';
import { sourceHash } from './sourceHash';
import { offlineStageNames, offlineTeacherFor, type TeacherOutputsRef } from './teacherOutputs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

/** Everything a run depends on (plain data: it is sent to worker processes). */
export interface Protocol {
  mode: 'quick' | 'default' | 'full';
  /** `compare`: methods + controls; `tune`: the grids; `ablate`: a method's ablations. */
  task: 'compare' | 'tune' | 'ablate';
  seeds: number;
  epochs: number;
  trainSize: number;
  /** Validation images held out of the training split (seeded; disjoint from the student's subset and the teachers' data). */
  valSize: number;
  testSize: number;
  batchSize: number;
  lr: number;
  /** Teachers' training images: all non-validation images (or this many of them). */
  teacherTrainSize: number;
  teacherEpochs: number;
  /** Multiplies the teacher's learning rate after each epoch. */
  teacherLrDecay: number;
  arch: Arch;
  /** IDX folder (`undefined`: the bundled MNIST). */
  dataDir: string | undefined;
  backend: BackendName;
  out: string;
  noCache: boolean;
  jobs: number;
  /** `--teacher-outputs DIR`: the plain teacher's runs distil from these outputs (see teacherOutputs.ts). */
  teacherOutputs?: TeacherOutputsRef;
}

/** The tensors a process trains and evaluates on (built once per process). */
export interface Data {
  dataset: IdxDataset;
  train: ImageSplit;
  /** Indices into the training split. */
  teacherIdx: number[];
  trainSet: { x: tf.Tensor4D; y: tf.Tensor1D };
  valSet: { x: tf.Tensor4D; y: tf.Tensor1D };
  /** The first (up to) 1 000 validation images: the per-epoch curve. */
  curveSet: { x: tf.Tensor4D; y: tf.Tensor1D };
  testSet: { x: tf.Tensor4D; y: tf.Tensor1D };
}

/** Checks that the data set fits the protocol and the models (before anything trains). */
export function checkDataset(d: IdxDataset, p: Protocol): void {
  for (const [side, v] of [
    ['height', d.height],
    ['width', d.width],
  ] as const) {
    if (v < MIN_SIDE || v > MAX_SIDE) {
      throw new IdxError(
        `${d.name}: image ${side} ${v} is outside what the models accept (${MIN_SIDE}-${MAX_SIDE} pixels).`,
      );
    }
  }
  if (d.train.count < p.valSize + p.trainSize) {
    throw new IdxError(
      `${d.name}: ${d.train.count} training images are fewer than --val-size ${p.valSize} + --train-size ${p.trainSize}.`,
    );
  }
}

/** Seeded, disjoint splits of the training images: validation, the student's subset, the teachers' images. */
export function splitIndices(
  count: number,
  p: Pick<Protocol, 'valSize' | 'trainSize' | 'teacherTrainSize'>,
): { val: number[]; student: number[]; teacher: number[] } {
  const perm = permutation(count, 2024);
  const val = perm.slice(0, p.valSize);
  const rest = perm.slice(p.valSize);
  return {
    val,
    student: rest.slice(0, p.trainSize),
    // The teachers see every non-validation image (the student's subset included), in a seeded order.
    teacher: permutation(rest.length, 12345)
      .slice(0, Math.min(p.teacherTrainSize, rest.length))
      .map((i) => rest[i]!),
  };
}

/** Loads the data set and builds the student's training subset, the validation and the test set. */
export function loadData(p: Protocol): Data {
  const dataset = loadIdxDataset(p.dataDir);
  checkDataset(dataset, p);
  const { train, test } = dataset;
  const idx = splitIndices(train.count, p);
  const testIdx = Array.from({ length: Math.min(p.testSize, test.count) }, (_, i) => i);
  return {
    dataset,
    train,
    teacherIdx: idx.teacher,
    trainSet: toTensors(train, idx.student),
    valSet: toTensors(train, idx.val),
    curveSet: toTensors(train, idx.val.slice(0, 1000)),
    testSet: toTensors(test, testIdx),
  };
}

/** Releases the tensors of {@link loadData}. */
export function disposeData(d: Data): void {
  for (const s of [d.trainSet, d.valSet, d.curveSet, d.testSet]) tf.dispose([s.x, s.y]);
}

/** `[n, H, W, 1]` float32 in [0, 1] and int32 labels for the given indices of a split. */
export function toTensors(
  split: ImageSplit,
  indices: number[],
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const size = split.height * split.width;
  const px = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((idx, i) => {
    const src = split.images.subarray(idx * size, (idx + 1) * size);
    for (let j = 0; j < size; j++) px[i * size + j] = src[j]! / 255;
    labels[i] = split.labels[idx]!;
  });
  return {
    x: tf.tensor4d(px, [indices.length, split.height, split.width, 1]),
    y: tf.tensor1d(labels, 'int32'),
  };
}

/**
 * A seeded permutation (mulberry32 + Fisher-Yates), independent of tfjs. It stays on mulberry32
 * on purpose: it draws the validation, student and teacher splits, so switching it to
 * `@relkd/core`'s `Rng` would change every split and with it every published number
 * (docs/benchmarks/mnist*). It is the only random generator outside tests besides core's `Rng`.
 */
export function permutation(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** The teachers' Adam learning rate in the first epoch (then `× teacherLrDecay` per epoch). */
export const TEACHER_LR = 0.002;

/** A teacher ready for distillation, and how it was obtained. */
export interface TeacherResult {
  kind: 'plain' | 'icc';
  net: Net;
  testAccuracy: number;
  cached: boolean;
  trainSeconds: number;
  /** Off-diagonal share of the teacher's class correlation `G = PᵀP` on the validation split, per τ. */
  offDiagonal: Record<string, number>;
  /** Training accuracy (%) of the MTKD-SSR teacher stage heads (plain teacher), when fitted. */
  headAccuracy?: number[] | undefined;
}

/** Images the MTKD-SSR teacher stage heads are fitted on (from the teacher's training images). */
export const TEACHER_HEAD_IMAGES = 10000;

/** Fits (or loads) the MTKD-SSR teacher stage heads of `net`, cached in the teacher's folder. */
export async function teacherHeads(
  net: Net,
  p: Protocol,
  data: Data,
): Promise<{ weights: SavedWeights; accuracy: number[] | undefined; cached: boolean }> {
  const dir = teacherDir('plain', p, data);
  // The heads are `@relkd/stage-distill` modules: their code is part of the key.
  const headsCode = codeOf(['packages/stage-distill/src']);
  const file = join(dir, `mtkd-heads-v1-${headsCode}.json`);
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {
      specs: SavedWeights['specs'];
      data: string;
      accuracy: number[];
    };
    const bytes = Buffer.from(saved.data, 'base64');
    return {
      weights: {
        specs: saved.specs,
        data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      },
      accuracy: saved.accuracy,
      cached: true,
    };
  }
  const { dataset } = data;
  const shape = { height: dataset.height, width: dataset.width, numClasses: dataset.numClasses };
  const scratch = buildStudent(0, p.arch, shape);
  const set = toTensors(data.train, data.teacherIdx.slice(0, TEACHER_HEAD_IMAGES));
  const recipe = methods.mtkd.recipe({
    teacher: net.model,
    student: scratch.model,
    stages: { teacher: net.stages, student: scratch.stages },
    numClasses: dataset.numClasses,
    teacherHeads: 'pretrain',
    teacherHeadFit: { epochs: p.mode === 'quick' ? 1 : 2, seed: 0 },
  });
  const fit = await recipe.fitTeacherHeads(set);
  const weights = await recipe.teacherHeads!.saveWeights();
  const accuracy = fit.accuracy.map((a) => 100 * a);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    `${file}.${process.pid}.tmp`,
    JSON.stringify({
      specs: weights.specs,
      data: Buffer.from(weights.data).toString('base64'),
      accuracy,
    }),
  );
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.${process.pid}.tmp`, file);
  recipe.dispose();
  scratch.model.dispose();
  tf.dispose([set.x, set.y]);
  return { weights, accuracy, cached: false };
}

/**
 * Off-diagonal mass of the teacher's class correlation on the validation split at each τ (read
 * back asynchronously: GPU backends such as Dawn WebGPU have no synchronous read).
 */
export async function correlationMass(
  net: Net,
  data: Data,
  temperatures: number[],
): Promise<Record<string, number>> {
  const masses = tf.tidy(() => {
    const logits = net.model.predict(data.valSet.x, { batchSize: 500 }) as tf.Tensor2D;
    return tf.stack(
      temperatures.map((t) =>
        offDiagonalMass(classCorrelation(logits, { temperature: t, normalize: 'none' })),
      ),
    );
  });
  const values = await masses.data();
  masses.dispose();
  return Object.fromEntries(temperatures.map((t, i) => [String(t), values[i]!]));
}

/** The teacher's class correlation at τ as an SVG heat-map (the matrix is read asynchronously). */
export async function correlationSvg(
  net: Net,
  data: Data,
  temperature: number,
  title: string,
): Promise<string> {
  const matrix = tf.tidy(() => {
    const logits = net.model.predict(data.valSet.x, { batchSize: 500 }) as tf.Tensor2D;
    return classCorrelation(logits, { temperature, normalize: 'batch' });
  });
  const rows = (await matrix.array()) as number[][];
  matrix.dispose();
  return correlationHeatmapSvg(rows, { title });
}

/**
 * The sources a cached teacher depends on: the training loop, optimizer and kernels (`core`,
 * `backend`, `layers`), the ICC regulariser, and this example's models, data and teacher code. A
 * change to any of them trains the teachers again (a kernel change that alters the last bit
 * changes the teachers, hence every student); changes to the other loss packages do not.
 */
const TEACHER_SOURCES = [
  'packages/core/src',
  'packages/backend/src',
  'packages/layers/src',
  'packages/class-correlation/src',
  'examples/mnist/src/models.ts',
  'examples/mnist/src/jobs.ts',
  'examples/mnist/src/idx.ts',
];

const codeHashes = new Map<string, string>();

/**
 * {@link sourceHash} of `paths` (relative to the repository), computed once per process: the
 * teacher and heads caches ask for it on every run.
 */
function codeOf(paths: readonly string[]): string {
  const key = paths.join('\n');
  let h = codeHashes.get(key);
  if (h === undefined) {
    h = sourceHash(
      repoRoot,
      paths.map((path) => join(repoRoot, path)),
    );
    codeHashes.set(key, h);
  }
  return h;
}

/**
 * The cache folder of a teacher: its kind, architecture, data set identity, training budget and
 * the hash of the code that trains it.
 */
export function teacherDir(kind: 'plain' | 'icc', p: Protocol, data: Data): string {
  const key = [
    `teacher-${kind}-v4-${p.arch}`,
    data.dataset.hash,
    `n${data.teacherIdx.length}-v${p.valSize}-e${p.teacherEpochs}-d${p.teacherLrDecay}`,
    `c${codeOf(TEACHER_SOURCES)}`,
  ].join('-');
  return join(repoRoot, '.relkd-cache', 'mnist', key);
}

export async function getTeacher(
  kind: 'plain' | 'icc',
  p: Protocol,
  data: Data,
  options: {
    /** Measure test accuracy (skipped when a worker only loads the teacher for a student run). */
    evaluate: boolean;
    /** Load from the cache even with `--no-cache` (the teacher was just trained by this run). */
    reuse?: boolean;
    /** Also fit (or load) the MTKD-SSR teacher stage heads (plain teacher). */
    heads?: boolean;
    stream?: ProgressStream | undefined;
  },
): Promise<TeacherResult> {
  const { train, dataset } = data;
  const prefix = kind === 'plain' ? 't' : 'ti';
  const dir = teacherDir(kind, p, data);
  const shape = { height: dataset.height, width: dataset.width, numClasses: dataset.numClasses };
  const net = buildTeacher(kind === 'plain' ? 100 : 200, prefix, p.arch, shape);
  let cached = false;
  let trainSeconds = 0;
  if ((!p.noCache || options.reuse === true) && existsSync(join(dir, 'model.json'))) {
    const loaded = await tfl.loadLayersModel(`file://${join(dir, 'model.json')}`, {
      strict: false,
    });
    net.model.setWeights(loaded.getWeights());
    loaded.dispose();
    cached = true;
  } else {
    const teacherSet = toTensors(train, data.teacherIdx);
    const extra: DistillerParts =
      kind === 'icc' ? iccTeacher({ numClasses: dataset.numClasses, weight: 0.5 }) : {};
    const optimizer = new FusedAdamOptimizer(TEACHER_LR);
    const d = new Distiller({ student: net.model, optimizer, seed: 7, ...extra });
    const t0 = Date.now();
    await d.fit(teacherSet, {
      epochs: p.teacherEpochs,
      batchSize: 64,
      progress: {
        label: `teacher (${kind === 'plain' ? 'plain CE' : 'ICC regulariser'})`,
        ...(options.stream === undefined ? {} : { stream: options.stream }),
      },
      callbacks: {
        // Step decay: Adam's learning rate is read at every update.
        onEpochEnd: (epoch) => {
          (optimizer as unknown as { learningRate: number }).learningRate =
            TEACHER_LR * p.teacherLrDecay ** (epoch + 1);
        },
      },
    });
    trainSeconds = (Date.now() - t0) / 1000;
    // @relkd/layers/node's file:// router: model.json + weights.bin, written atomically.
    await net.model.save(`file://${dir}`);
    d.dispose();
    optimizer.dispose();
    tf.dispose([teacherSet.x, teacherSet.y]);
  }
  const testAccuracy = options.evaluate
    ? (await evaluateModel(net.model, data.testSet.x, data.testSet.y, 500)).accuracy
    : Number.NaN;
  const offDiagonal = options.evaluate ? await correlationMass(net, data, [1, 2, 4]) : {};
  const headAccuracy =
    kind === 'plain' && options.heads === true
      ? (await teacherHeads(net, p, data)).accuracy
      : undefined;
  return { kind, net, testAccuracy, cached, trainSeconds, offDiagonal, headAccuracy };
}

/** One student training run's result. */
export interface RunResult {
  arm: string;
  config: Config;
  /** 0-based seed index. */
  s: number;
  seed: number;
  /** Accuracy (%) on the first 1 000 validation images after each epoch. */
  curve: number[];
  /** Final accuracy (%) on the whole validation split. */
  val: number;
  /** Final accuracy (%) on the test set (NaN when tuning: the test set is for the final numbers only). */
  test: number;
  secondsPerEpoch: number;
  /** Mean of each loss part in the last epoch. */
  lastLoss: Record<string, number>;
}

/** The students' learning rate in epoch `epoch` (0-based): Adam with cosine decay per epoch. */
export function cosineLr(p: Pick<Protocol, 'lr' | 'epochs'>, epoch: number): number {
  return p.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / p.epochs));
}

/** The seed of run `s` (0-based) of every arm: the same students for every arm. */
export function runSeed(s: number): number {
  return 1000 + 17 * s;
}

/** Trains one student for `arm` with `config` (seed index `s`) and returns its accuracies. */
export async function runStudent(
  job: { arm: string; config: Config; s: number; evalTest: boolean },
  p: Protocol,
  data: Data,
  teachers: { plain?: Net; icc?: Net },
  stream?: ProgressStream,
): Promise<RunResult> {
  const arm = armById(job.arm);
  const seed = runSeed(job.s);
  const { dataset } = data;
  const shape = { height: dataset.height, width: dataset.width, numClasses: dataset.numClasses };
  const student = buildStudent(seed, p.arch, shape);
  const teacher = arm.teacher === undefined ? undefined : teachers[arm.teacher];
  if (arm.teacher !== undefined && teacher === undefined) {
    throw new Error(`internal: the ${arm.id} run needs its teacher, which is not loaded.`);
  }
  const optimizer = new FusedAdamOptimizer(p.lr);
  const offline = await offlineTeacherFor(arm, p, data);
  const heads =
    arm.family === 'mtkd' &&
    job.config.teacherHeads !== 'final' &&
    teacher !== undefined &&
    offline === undefined
      ? (await teacherHeads(teacher, p, data)).weights
      : undefined;
  const parts = arm.build({
    student,
    teacher,
    numClasses: dataset.numClasses,
    config: job.config,
    seed,
    teacherHeadWeights: heads,
    offlineTeacher:
      offline === undefined
        ? undefined
        : { source: offline, stageNames: offlineStageNames(offline) },
  });
  const d = new Distiller({
    student: student.model,
    teacher: offline ?? teacher?.model,
    optimizer,
    seed,
    ...parts,
  });
  const h = await d.fit(data.trainSet, {
    epochs: p.epochs,
    batchSize: p.batchSize,
    validationData: data.curveSet,
    callbacks: {
      // Cosine decay per epoch: epoch e trains at lr · ½(1 + cos(π e / E)).
      onEpochEnd: (epoch) => {
        (optimizer as unknown as { learningRate: number }).learningRate = cosineLr(p, epoch + 1);
      },
    },
    progress: {
      label: `${arm.id.padEnd(14)} seed ${job.s + 1}`,
      ...(stream === undefined ? {} : { stream }),
    },
  });
  const curve = h.epochs.map((e) => 100 * (e.val?.accuracy ?? Number.NaN));
  const val = 100 * (await d.evaluate(data.valSet.x, data.valSet.y, 500)).accuracy;
  const test = job.evalTest
    ? 100 * (await d.evaluate(data.testSet.x, data.testSet.y, 500)).accuracy
    : Number.NaN;
  d.dispose();
  (parts as { dispose?: () => void }).dispose?.();
  optimizer.dispose();
  student.model.dispose();
  return {
    arm: arm.id,
    config: job.config,
    s: job.s,
    seed,
    curve,
    val,
    test,
    secondsPerEpoch: h.epochs.reduce((a, e) => a + e.seconds, 0) / Math.max(h.epochs.length, 1),
    lastLoss: h.epochs[h.epochs.length - 1]?.loss ?? {},
  };
}
