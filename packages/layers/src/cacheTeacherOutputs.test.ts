import { BACKENDS, expectClose, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheTeacherOutputs } from './cacheTeacherOutputs';
import { Distiller, type DistillerParts } from './Distiller';
import { isOfflineTeacher } from './offlineTeacher';
import { icc } from './recipes/icc';
import { kd } from './recipes/kd';
import { vrm } from './recipes/vrm';

const C = 4;
const N = 20;

function cnn(width: number, seed: number, name?: string): tfl.Sequential {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: width,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(1),
        ...(name === undefined ? {} : { name: `${name}_conv` }),
      }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: C, kernelInitializer: init(2) }),
    ],
  });
}

function data() {
  const x = tf.randomUniform([N, 8, 8, 1], 0, 1, 'float32', 3);
  const y = tf.tensor1d(
    Array.from({ length: N }, (_, i) => i % C),
    'int32',
  );
  return { x, y };
}

function weightsOf(m: tfl.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(w.dataSync()));
}

describe.each(BACKENDS)('cacheTeacherOutputs on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it("holds the teacher's inference-mode logits and features of every row (batches that do not divide N)", async () => {
    const { x, y } = data();
    const teacher = cnn(6, 1, 'tc');
    const before = tf.memory().numTensors;
    const cached = cacheTeacherOutputs(teacher, x, { batchSize: 7, features: ['tc_conv'] });
    expect(isOfflineTeacher(cached)).toBe(true);
    expect(cached.rowCount).toBe(N);
    const live = teacher.predict(x) as tf.Tensor;
    expectClose(cached.logits, live, { rtol: 1e-5, atol: 1e-6 });
    const conv = tfl.model({ inputs: teacher.inputs, outputs: teacher.getLayer('tc_conv').output });
    const liveConv = conv.predict(x) as tf.Tensor;
    expect(cached.features.tc_conv!.shape).toEqual([N, 8, 8, 6]);
    expectClose(cached.features.tc_conv!, liveConv, { rtol: 1e-5, atol: 1e-6 });
    // Rows by index, in the order asked.
    const rows = [5, 0, 19, 5];
    const got = await cached.gather(rows);
    tf.tidy(() => {
      expectClose(got.logits, tf.gather(live, rows), { rtol: 0, atol: 0 });
      expectClose(got.features.tc_conv!, tf.gather(liveConv, rows), { rtol: 0, atol: 0 });
    });
    tf.dispose([live, liveConv, got.logits, ...Object.values(got.features)]);
    cached.dispose();
    cached.dispose(); // idempotent
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  const recipes: Array<[string, () => DistillerParts]> = [
    ['kd', () => kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 })],
    ['icc', () => icc()],
  ];

  it.each(
    recipes,
  )('%s: the student trains as with the live teacher (fit on the cached rows, shuffled)', async (_name, make) => {
    const { x, y } = data();
    const teacher = cnn(6, 1);
    const liveStudent = cnn(3, 2);
    const cachedStudent = cnn(3, 2);
    const distiller = (
      t: tfl.LayersModel | ReturnType<typeof cacheTeacherOutputs>,
      s: tfl.LayersModel,
    ) =>
      new Distiller({ teacher: t, student: s, optimizer: tf.train.sgd(0.1), seed: 5, ...make() });
    const options = { epochs: 2, batchSize: 8 };
    const a = await distiller(teacher, liveStudent).fit({ x, y }, options);
    const cached = cacheTeacherOutputs(teacher, x);
    const d = distiller(cached, cachedStudent);
    const before = tf.memory().numTensors;
    const b = await d.fit({ x, y }, options);
    expect(tf.memory().numTensors).toBe(before);
    const wa = weightsOf(liveStudent);
    weightsOf(cachedStudent).forEach((w, i) => {
      expectClose(w, wa[i]!, { rtol: 1e-4, atol: 1e-6 });
    });
    for (const k of Object.keys(a.epochs[1]!.loss))
      expect(b.epochs[1]!.loss[k]).toBeCloseTo(a.epochs[1]!.loss[k]!, 4);
    d.dispose();
    cached.dispose();
    tf.dispose([x, y]);
  });

  it('refuses other data and bad rows; fit refuses VRM (the teacher on views) before any update', async () => {
    const { x, y } = data();
    const teacher = cnn(6, 1);
    const cached = cacheTeacherOutputs(teacher, x);
    const student = cnn(3, 2);
    const w0 = weightsOf(student);
    const other = tf.slice(x, 0, 12);
    const d = new Distiller({ teacher: cached, student, optimizer: tf.train.sgd(0.1), ...kd() });
    await expect(d.fit({ x: other, y: tf.slice(y, 0, 12) }, { epochs: 1 })).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH',
    });
    await expect(cached.gather([0, N])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(cached.gather([1.5])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const v = new Distiller({
      teacher: cached,
      student,
      optimizer: tf.train.sgd(0.1),
      ...vrm({ view: { magnitude: 5 } }),
    });
    await expect(v.fit({ x, y }, { epochs: 1, batchSize: 8 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    expect(weightsOf(student)).toEqual(w0);
    cached.dispose();
    await expect(cached.gather([0])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(cached.prepare({ rows: N })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    d.dispose();
    v.dispose();
    tf.dispose([x, y, other]);
  });

  it('rejects bad arguments with typed errors, before any kernel, leaking nothing', () => {
    const teacher = cnn(6, 1);
    const x = tf.zeros([4, 8, 8, 1]);
    const before = tf.memory().numTensors;
    expectRelkdError(() => cacheTeacherOutputs({} as never, x), 'INVALID_OPTION');
    expectRelkdError(() => cacheTeacherOutputs(teacher, [1, 2] as never), 'INVALID_OPTION');
    expectRelkdError(() => cacheTeacherOutputs(teacher, x, { batchSize: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => cacheTeacherOutputs(teacher, x, { batchSize: 2.5 }), 'INVALID_OPTION');
    expectRelkdError(
      () => cacheTeacherOutputs(teacher, x, { features: 'a' as never }),
      'INVALID_OPTION',
    );
    const empty = tf.zeros([0, 8, 8, 1]);
    const wrong = tf.zeros([4, 7, 8, 1]);
    const after = tf.memory().numTensors;
    expectRelkdError(() => cacheTeacherOutputs(teacher, empty), 'EMPTY_BATCH');
    expectRelkdError(() => cacheTeacherOutputs(teacher, wrong), 'SHAPE_MISMATCH');
    expect(tf.memory().numTensors).toBe(after);
    tf.dispose([empty, wrong]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
