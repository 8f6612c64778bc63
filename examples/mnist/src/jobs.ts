/**
 * The units of work of `npm run distill`: train (or load) a teacher, train one student run. Each
 * runs in the CLI process (`--jobs 1`) or in a worker process (see `pool.ts`); a run's result
 * depends only on the protocol and its seed, not on where it runs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@relkd/backend';
import {
  Distiller,
  type DistillerParts,
  evaluateModel,
  loadFromDirectory,
  type ProgressStream,
  recipes,
} from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadMnist, type MnistSplit } from './idx';
import { buildStudent, buildTeacher, type Net } from './models';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

export const METHODS = ['ce', 'kd', 'vrm', 'stkd', 'icc', 'mtkd', 'corsd'] as const;
export type Method = (typeof METHODS)[number];

/** Everything a run depends on (plain data: it is sent to worker processes). */
export interface Protocol {
  mode: 'quick' | 'default' | 'full';
  methods: Method[];
  seeds: number;
  epochs: number;
  trainSize: number;
  testSize: number;
  batchSize: number;
  lr: number;
  teacherTrainSize: number;
  teacherEpochs: number;
  /** Multiplies the teacher's learning rate after each epoch. */
  teacherLrDecay: number;
  backend: BackendName;
  out: string;
  noCache: boolean;
  jobs: number;
}

/** The MNIST tensors a process trains and evaluates on (built once per process). */
export interface Data {
  train: MnistSplit;
  trainSet: { x: tf.Tensor4D; y: tf.Tensor1D };
  testSet: { x: tf.Tensor4D; y: tf.Tensor1D };
}

/** Loads MNIST and builds the student's training subset and the test set. */
export function loadData(p: Protocol): Data {
  const { train, test } = loadMnist();
  const trainIdx = permutation(train.count, 2024).slice(0, p.trainSize);
  return {
    train,
    trainSet: toTensors(train, trainIdx),
    testSet: toTensors(
      test,
      Array.from({ length: p.testSize }, (_, i) => i),
    ),
  };
}

/** `[n, 28, 28, 1]` float32 in [0, 1] and int32 labels for the given indices of a split. */
export function toTensors(
  split: MnistSplit,
  indices: number[],
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const px = new Float32Array(indices.length * 784);
  const labels = new Int32Array(indices.length);
  indices.forEach((idx, i) => {
    const src = split.images.subarray(idx * 784, (idx + 1) * 784);
    for (let j = 0; j < 784; j++) px[i * 784 + j] = src[j]! / 255;
    labels[i] = split.labels[idx]!;
  });
  return { x: tf.tensor4d(px, [indices.length, 28, 28, 1]), y: tf.tensor1d(labels, 'int32') };
}

/** A seeded permutation (mulberry32 + Fisher-Yates), independent of tfjs. */
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
    stream?: ProgressStream | undefined;
  },
): Promise<TeacherResult> {
  const { train } = data;
  const prefix = kind === 'plain' ? 't' : 'ti';
  const key = `teacher-${kind}-v3-n${p.teacherTrainSize}-e${p.teacherEpochs}-d${p.teacherLrDecay}`;
  const dir = join(repoRoot, '.relkd-cache', 'mnist', key);
  const net = buildTeacher(kind === 'plain' ? 100 : 200, prefix);
  let cached = false;
  let trainSeconds = 0;
  if ((!p.noCache || options.reuse === true) && existsSync(join(dir, 'model.json'))) {
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await loadFromDirectory(dir)), {
      strict: false,
    });
    net.model.setWeights(loaded.getWeights());
    loaded.dispose();
    cached = true;
  } else {
    const idx = permutation(train.count, 12345).slice(0, p.teacherTrainSize);
    const teacherSet = toTensors(train, idx);
    const extra: DistillerParts =
      kind === 'icc' ? recipes.iccTeacher({ numClasses: 10, weight: 0.5 }) : {};
    const optimizer = tf.train.adam(TEACHER_LR);
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
    mkdirSync(dir, { recursive: true });
    await net.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const { mkdir, writeFile } = await import('node:fs/promises');
        await mkdir(dir, { recursive: true });
        const data = tf.io.CompositeArrayBuffer.join(
          artifacts.weightData as ArrayBuffer | ArrayBuffer[],
        );
        await writeFile(join(dir, 'weights.bin'), new Uint8Array(data));
        await writeFile(
          join(dir, 'model.json'),
          JSON.stringify({
            format: 'layers-model',
            modelTopology: artifacts.modelTopology,
            weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
          }),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    d.dispose();
    optimizer.dispose();
    tf.dispose([teacherSet.x, teacherSet.y]);
  }
  const testAccuracy = options.evaluate
    ? (await evaluateModel(net.model, data.testSet.x, data.testSet.y, 500)).accuracy
    : Number.NaN;
  return { kind, net, testAccuracy, cached, trainSeconds };
}

/** The `Distiller` parts of one method, as used by the MNIST protocol. */
export function recipeFor(method: Method, teacher: Net | undefined, student: Net): DistillerParts {
  switch (method) {
    case 'ce':
      return {};
    case 'kd':
      return recipes.kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 });
    case 'vrm':
      return recipes.vrm({ weight: 1, view: { magnitude: 5 } });
    case 'stkd':
      return recipes.stkd({ numClasses: 10, alpha: 1 });
    case 'icc':
      return recipes.icc({ temperature: 4, kdWeight: 1, iccWeight: 1 });
    case 'mtkd':
      return recipes.mtkd({
        teacher: teacher!.model,
        student: student.model,
        stages: { teacher: teacher!.stages, student: student.stages },
        numClasses: 10,
      });
    case 'corsd':
      return recipes.corsd({ student: student.model, stages: student.stages, numClasses: 10 });
  }
}

/** The teacher a method distils from: none for CE and CORSD (self-distillation), the
 * ICC-regularised one for ICC, the plain one otherwise. */
export function teacherOf(method: Method): 'plain' | 'icc' | undefined {
  if (method === 'ce' || method === 'corsd') return undefined;
  return method === 'icc' ? 'icc' : 'plain';
}

/** One student training run's result. */
export interface RunResult {
  method: Method;
  seed: number;
  curve: number[];
  final: number;
  secondsPerEpoch: number;
}

/** The seed of run `s` (0-based) of every method: the same students for every method. */
export function runSeed(s: number): number {
  return 1000 + 17 * s;
}

/** Trains one student with `method` (seed index `s`) and returns its accuracy curve. */
export async function runStudent(
  method: Method,
  s: number,
  p: Protocol,
  data: Data,
  teachers: { plain?: Net; icc?: Net },
  stream?: ProgressStream,
): Promise<RunResult> {
  const seed = runSeed(s);
  const student = buildStudent(seed);
  const kind = teacherOf(method);
  const teacher = kind === undefined ? undefined : teachers[kind];
  if (kind !== undefined && teacher === undefined) {
    throw new Error(`internal: the ${method} run needs its teacher, which is not loaded.`);
  }
  const optimizer = tf.train.adam(p.lr);
  const d = new Distiller({
    student: student.model,
    teacher: teacher?.model,
    optimizer,
    seed,
    ...recipeFor(method, teacher, student),
  });
  const h = await d.fit(data.trainSet, {
    epochs: p.epochs,
    batchSize: p.batchSize,
    validationData: data.testSet,
    progress: {
      label: `${method.padEnd(5)} seed ${s + 1}/${p.seeds}`,
      ...(stream === undefined ? {} : { stream }),
    },
  });
  const curve = h.epochs.map((e) => 100 * (e.val?.accuracy ?? Number.NaN));
  d.dispose();
  optimizer.dispose();
  student.model.dispose();
  return {
    method,
    seed,
    curve,
    final: curve[curve.length - 1] as number,
    secondsPerEpoch: h.epochs.reduce((a, e) => a + e.seconds, 0) / Math.max(h.epochs.length, 1),
  };
}
