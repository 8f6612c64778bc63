// A short distillation on Dawn WebGPU (the `webgpu` test project, SwiftShader in CI): a
// tfjs-layers conv teacher and a conv student with batch norm, max pooling, global average
// pooling and dense layers, trained by the Distiller with KD. The same run on the cpu backend
// gives the reference: every epoch's losses agree, the teacher stays bit-identical, the student
// learns, and nothing leaks. Reads are asynchronous (`dataSync()` throws on Dawn in Node).

import { kdLoss } from '@relkd/core';
import { expectClose, read, useWebGpuTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from './Distiller';

const C = 4;

let uid = 0;
/** A small NHWC conv classifier `[B, 8, 8, 1] -> [B, C]` with fresh layer names. */
function convNet(seed: number, withBatchNorm: boolean): tfl.Sequential {
  const p = `wg${uid++}_`;
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: s });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${p}c1`,
        kernelInitializer: init(seed),
      }),
      ...(withBatchNorm ? [tfl.layers.batchNormalization({ name: `${p}bn` })] : []),
      tfl.layers.maxPooling2d({ poolSize: 2, name: `${p}pool` }),
      tfl.layers.conv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `${p}c2`,
        kernelInitializer: init(seed + 1),
      }),
      tfl.layers.globalAveragePooling2d({ name: `${p}gap` }),
      tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(seed + 2) }),
    ],
  });
}

interface Run {
  epochs: Record<string, number>[];
  teacherChanged: boolean;
  studentChanged: boolean;
  leaked: number;
  ms: number;
}

/** Builds teacher and student on the active backend, distils for `epochs`, reports. */
async function distil(epochs: number): Promise<Run> {
  const before = tf.memory().numTensors;
  const teacher = convNet(1, false);
  const student = convNet(11, true);
  const x = tf.randomNormal([32, 8, 8, 1], 0, 1, 'float32', 3);
  const y = tf.tensor1d(
    Array.from({ length: 32 }, (_, i) => i % C),
    'int32',
  );
  const weights = async (m: tfl.LayersModel) => Promise.all(m.getWeights().map(read));
  const teacher0 = await weights(teacher);
  const student0 = await weights(student);
  const optimizer = tf.train.sgd(0.1);
  const d = new Distiller({
    teacher,
    student,
    optimizer,
    terms: [
      {
        name: 'kd',
        weight: 0.5,
        loss: ({ student: s, teacher: t }) =>
          kdLoss(s.logits as tf.Tensor2D, t!.logits as tf.Tensor2D, { temperature: 2 }),
      },
    ],
  });
  const started = performance.now();
  const h = await d.fit({ x, y }, { epochs, batchSize: 8, shuffle: false });
  const ms = performance.now() - started;
  const same = (a: number[][], b: number[][]) =>
    a.length === b.length && a.every((w, i) => w.every((v, j) => Object.is(v, b[i]![j])));
  const run = {
    epochs: h.epochs.map((e) => e.loss),
    teacherChanged: !same(await weights(teacher), teacher0),
    studentChanged: !same(await weights(student), student0),
    leaked: 0,
    ms,
  };
  d.dispose();
  optimizer.dispose(); // the caller's: the Distiller never disposes it
  teacher.dispose();
  student.dispose();
  tf.dispose([x, y]);
  run.leaked = tf.memory().numTensors - before;
  return run;
}

describe('Distiller on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it('a 3-epoch KD run of conv nets (conv, batch norm, pooling, GAP, dense) matches cpu', async () => {
    const onWebgpu = await distil(3);
    await tf.setBackend('cpu');
    let onCpu: Run;
    try {
      onCpu = await distil(3);
    } finally {
      await tf.setBackend('webgpu');
    }
    // Timing for the docs (docs/guides/backends.md): SwiftShader is a CPU rasteriser.
    console.log(
      `Distiller 3 epochs x 4 steps (32 samples, 8x8x1, conv nets): webgpu (SwiftShader) ${onWebgpu.ms.toFixed(0)} ms, cpu ${onCpu.ms.toFixed(0)} ms`,
    );
    expect(onWebgpu.teacherChanged, 'teacher weights changed').toBe(false);
    expect(onWebgpu.studentChanged, 'student weights unchanged').toBe(true);
    expect(onWebgpu.leaked, 'tensors leaked by the run').toBe(0);
    expect(onCpu.leaked).toBe(0);
    const last = onWebgpu.epochs.at(-1)!;
    expect(last.total!).toBeLessThan(onWebgpu.epochs[0]!.total!);
    // Same data, seeds and updates: the losses follow cpu's. Per-step float32 differences
    // (WEBGPU_VALUE_TOL) compound through 12 SGD steps, hence rtol 1e-3 on epoch means.
    onWebgpu.epochs.forEach((loss, e) => {
      for (const [part, v] of Object.entries(loss))
        expectClose([v], [onCpu.epochs[e]![part]!], {
          rtol: 1e-3,
          atol: 1e-5,
          label: `epoch ${e} ${part}`,
        });
    });
  });
});
