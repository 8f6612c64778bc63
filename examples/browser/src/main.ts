import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
// Register every backend the picker offers (bundlers cannot follow optional dynamic imports).
import '@tensorflow/tfjs-backend-cpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { type BackendName, useBackend } from '@relkd/backend';
import { classCorrelation, correlationHeatmap } from '@relkd/class-correlation';
import { crossEntropy, Rng } from '@relkd/core';
import { LineChart } from './chart';
import { batch, loadMnist, type Mnist } from './data';
import { makeMethod } from './methods';
import { accuracy, Mlp } from './models';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  backend: $<HTMLSelectElement>('backend'),
  method: $<HTMLSelectElement>('method'),
  steps: $<HTMLInputElement>('steps'),
  start: $<HTMLButtonElement>('start'),
  stop: $<HTMLButtonElement>('stop'),
  status: $<HTMLParagraphElement>('status'),
  log: $<HTMLPreElement>('log'),
};
const lossChart = new LineChart($('loss'), { xLabel: 'step', yLabel: 'loss' });
const accChart = new LineChart($('acc'), { xLabel: 'step', yLabel: 'accuracy', yRange: [0, 1] });
const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
};
const BATCH = 64;
const TEACHER_STEPS = 300;

let stopRequested = false;
let data: Mnist | null = null;
let dataBackend = '';
let teacher: Mlp | null = null;
let teacherAcc = 0;

function log(line: string): void {
  ui.log.textContent = `${line}\n${ui.log.textContent ?? ''}`.slice(0, 8000);
}
function status(text: string): void {
  ui.status.textContent = text;
}

async function drawHeatmap(model: Mlp, canvasId: string): Promise<void> {
  if (!data) return;
  const rgba = tf.tidy(() => {
    const g = classCorrelation(model.run(data!.testX).logits, { normalize: 'batch' });
    return correlationHeatmap(g, { cellSize: 20, hideDiagonal: true });
  });
  await tf.browser.toPixels(rgba as tf.Tensor3D, $<HTMLCanvasElement>(canvasId));
  rgba.dispose();
}

async function prepare(): Promise<void> {
  const info = await useBackend(ui.backend.value as BackendName, {
    wasmPaths: WASM_PATHS,
    modules: { '@tensorflow/tfjs-backend-wasm': wasmBackend },
    // One WASM thread unless the link asks for more (`?threads=4`): useBackend's default in a
    // browser, since tfjs-backend-wasm's threaded worker does not start in a minified build.
    ...(threads === null ? {} : { wasmThreads: Number(threads), initTimeoutMs: 10_000 }),
  });
  ui.status.dataset.threads = String(info.threads ?? '');
  log(
    `backend: ${info.name} (${info.device}${info.threads === undefined ? '' : `, ${info.threads} thread(s)`})${info.tried.length ? `; skipped: ${info.tried.join('; ')}` : ''}`,
  );
  if (!data || dataBackend !== tf.getBackend()) {
    data?.trainX.dispose();
    status('Loading MNIST subset…');
    data = await loadMnist();
    dataBackend = tf.getBackend();
    teacher?.dispose();
    teacher = null;
  }
  if (!teacher) {
    teacher = new Mlp([256, 128], 7);
    const opt = tf.train.adam(1e-3);
    const rng = new Rng(7);
    for (let step = 1; step <= TEACHER_STEPS && !stopRequested; step++) {
      const { x, y } = batch(
        data,
        Array.from({ length: BATCH }, () => rng.int(data!.numTrain)),
      );
      opt.minimize(
        () => crossEntropy(teacher!.run(x, true).logits, y),
        false,
        teacher.trainableVariables,
      );
      tf.dispose([x, y]);
      if (step % 50 === 0) {
        status(`Training the teacher… step ${step}/${TEACHER_STEPS}`);
        await tf.nextFrame();
      }
    }
    opt.dispose();
    teacherAcc = await accuracy(teacher, data.testX, data.testY);
    log(`teacher test accuracy ${(teacherAcc * 100).toFixed(1)}%`);
    await drawHeatmap(teacher, 'heat-teacher');
  }
}

async function run(): Promise<void> {
  stopRequested = false;
  ui.start.disabled = true;
  ui.stop.disabled = false;
  lossChart.clear();
  accChart.clear();
  try {
    await prepare();
    if (!data || !teacher) return;
    const methodName = ui.method.value;
    const tensorsBefore = tf.memory().numTensors;
    const method = makeMethod(methodName);
    const student = new Mlp([32, 16], 11);
    const varList = [
      ...student.trainableVariables,
      ...method.modules.flatMap((m) => m.trainableVariables),
    ];
    const opt = tf.train.adam(2e-3);
    const rng = new Rng(11);
    const steps = Math.max(10, Number(ui.steps.value) || 400);
    const t0 = performance.now();
    accChart.push('teacher', 0, teacherAcc);
    for (let step = 1; step <= steps && !stopRequested; step++) {
      const { x, y } = batch(
        data,
        Array.from({ length: BATCH }, () => rng.int(data!.numTrain)),
      );
      let parts: Record<string, tf.Scalar> = {};
      const cost = opt.minimize(
        () => {
          const out = method.loss({ x, y, student, teacher: teacher!, step });
          parts = Object.fromEntries(Object.entries(out.parts).map(([k, v]) => [k, tf.keep(v)]));
          return out.total;
        },
        true,
        varList,
      );
      if (step % 10 === 0 || step === steps) {
        const names = Object.keys(parts);
        const stacked = tf.stack([cost!, ...names.map((n) => parts[n]!)]);
        const values = await stacked.data(); // one read-back per logged step
        stacked.dispose();
        lossChart.push('total', step, values[0]!);
        names.forEach((n, i) => {
          lossChart.push(n, step, values[i + 1]!);
        });
        lossChart.draw();
      }
      tf.dispose([x, y, cost!, ...Object.values(parts)]);
      if (step % 50 === 0 || step === steps) {
        const acc = await accuracy(student, data.testX, data.testY);
        accChart.push('teacher', step, teacherAcc);
        accChart.push(methodName, step, acc);
        accChart.draw();
        await drawHeatmap(student, 'heat-student');
        const rate = (step / (performance.now() - t0)) * 1000;
        status(
          `Student (${methodName}) step ${step}/${steps}: test accuracy ${(acc * 100).toFixed(1)}% · ${rate.toFixed(0)} steps/s`,
        );
        ui.status.dataset.accuracy = String(acc);
        ui.status.dataset.step = String(step);
      }
      if (step % 5 === 0) await tf.nextFrame();
    }
    method.dispose();
    student.dispose();
    opt.dispose();
    const leaked = tf.memory().numTensors - tensorsBefore;
    log(
      `${methodName}: ${stopRequested ? 'stopped' : 'done'}; tensors leaked by the run: ${leaked}`,
    );
    ui.status.dataset.leaked = String(leaked);
    ui.status.dataset.done = 'true';
  } catch (e) {
    status(`Error: ${(e as Error).message}`);
    log(String((e as Error).stack ?? e));
    throw e;
  } finally {
    ui.start.disabled = false;
    ui.stop.disabled = true;
  }
}

ui.start.addEventListener('click', () => {
  void run();
});
ui.stop.addEventListener('click', () => {
  stopRequested = true;
});
// Deep links for demos and the end-to-end test: ?backend=wasm&method=kd&steps=200&autostart=1
// (and &threads=4 for WASM threads; the page is cross-origin isolated).
const params = new URLSearchParams(location.search);
const threads = params.get('threads');
for (const key of ['backend', 'method', 'steps'] as const) {
  const v = params.get(key);
  if (v !== null) (ui[key] as HTMLInputElement | HTMLSelectElement).value = v;
}
if (params.get('autostart') === '1') void run();
