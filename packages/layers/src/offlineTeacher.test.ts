import { RelkdError } from '@relkd/core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller, type DistillerParts } from './Distiller';
import {
  isOfflineTeacher,
  type OfflineTeacherDataInfo,
  type OfflineTeacherSource,
} from './offlineTeacher';
import { icc } from './recipes/icc';
import { kd } from './recipes/kd';
import { stkd } from './recipes/stkd';
import { vrm } from './recipes/vrm';
import type { TapOutput } from './tap';

const C = 4;
const N = 24;

function cnn(width: number, seed: number): tfl.Sequential {
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

/**
 * An offline source written the way a user would, without @relkd/teacher-outputs (structural
 * typing): the teacher's logits on every row, computed once, served by index.
 */
class ArraySource implements OfflineTeacherSource {
  readonly rowCount: number;
  readonly gathered: number[][] = [];
  readonly prepared: OfflineTeacherDataInfo[] = [];
  constructor(
    private readonly logits: Float32Array,
    private readonly classes: number,
    private readonly fail?: RelkdError,
  ) {
    this.rowCount = logits.length / classes;
  }
  async prepare(info: OfflineTeacherDataInfo): Promise<void> {
    this.prepared.push(info);
    if (this.fail !== undefined) throw this.fail;
  }
  async gather(indices: ArrayLike<number>): Promise<TapOutput> {
    const rows = Array.from(indices);
    this.gathered.push(rows);
    const out = new Float32Array(rows.length * this.classes);
    rows.forEach((r, i) => {
      out.set(this.logits.subarray(r * this.classes, (r + 1) * this.classes), i * this.classes);
    });
    return { logits: tf.tensor2d(out, [rows.length, this.classes]), features: {} };
  }
}

function offlineOf(teacher: tfl.LayersModel, x: tf.Tensor, fail?: RelkdError): ArraySource {
  const logits = tf.tidy(() => teacher.predict(x) as tf.Tensor);
  const source = new ArraySource(logits.dataSync() as Float32Array, C, fail);
  logits.dispose();
  return source;
}

function weightsOf(m: tfl.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(w.dataSync()));
}

describe.each(BACKENDS)('Distiller with an offline teacher on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  const same: Array<[string, () => DistillerParts]> = [
    ['kd', () => kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 })],
    ['icc', () => icc()],
    [
      'stkd mixedTeacherSoft',
      () => stkd({ numClasses: C, loss: { targetMode: 'mixedTeacherSoft' } }),
    ],
  ];

  it.each(
    same,
  )('%s: trains the student exactly as the live teacher does, shuffled rows by index', async (_name, make) => {
    const { x, y } = data();
    const teacher = cnn(6, 1);
    const source = offlineOf(teacher, x);
    const live = cnn(3, 2);
    const off = cnn(3, 2);
    const distiller = (t: tfl.LayersModel | OfflineTeacherSource, student: tfl.LayersModel) =>
      new Distiller({ teacher: t, student, optimizer: tf.train.sgd(0.1), seed: 5, ...make() });
    const options = { epochs: 2, batchSize: 8 };
    const a = await distiller(teacher, live).fit({ x, y }, options);
    const d = distiller(source, off);
    const before = tf.memory().numTensors;
    const b = await d.fit({ x, y }, options);
    expect(tf.memory().numTensors).toBe(before);
    const wa = weightsOf(live);
    const wb = weightsOf(off);
    wa.forEach((w, i) => {
      expectClose(wb[i]!, w, { rtol: 1e-4, atol: 1e-6 });
    });
    for (const k of Object.keys(a.epochs[1]!.loss))
      expect(b.epochs[1]!.loss[k]).toBeCloseTo(a.epochs[1]!.loss[k]!, 4);
    // Every epoch asks for every row once, in a shuffled order.
    expect(source.gathered).toHaveLength(6);
    const epoch0 = source.gathered.slice(0, 3).flat();
    expect([...epoch0].sort((p, q) => p - q)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(epoch0).not.toEqual([...epoch0].sort((p, q) => p - q));
    expect(source.prepared).toHaveLength(1);
    expect(source.prepared[0]!.rows).toBe(N);
    expect(source.prepared[0]!.numClasses).toBe(C);
    expect(Array.from(source.prepared[0]!.labels!)).toEqual(Array.from(y.dataSync()));
    tf.dispose([x, y]);
  });

  const refused: Array<[string, () => DistillerParts, RegExp]> = [
    ['vrm', () => vrm({ view: { magnitude: 5 } }), /virtual views/],
    ['stkd teacherOnMixed', () => stkd({ numClasses: C }), /teacherOnMixed/],
  ];

  it.each(
    refused,
  )('%s needs the teacher on inputs the outputs do not hold: INVALID_OPTION before any update', async (_name, make, message) => {
    const { x, y } = data();
    const source = offlineOf(cnn(6, 1), x);
    const student = cnn(3, 2);
    const w0 = weightsOf(student);
    const d = new Distiller({ teacher: source, student, optimizer: tf.train.sgd(0.1), ...make() });
    const before = tf.memory().numTensors;
    let caught: unknown;
    try {
      await d.fit({ x, y }, { epochs: 1, batchSize: 8 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RelkdError);
    expect((caught as RelkdError).code).toBe('INVALID_OPTION');
    expect((caught as Error).message).toMatch(message);
    expect(weightsOf(student)).toEqual(w0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

describe('Distiller with an offline teacher: set-up', () => {
  beforeAll(() => useTestBackend('cpu'));

  it('is recognised structurally, never a model', () => {
    expect(isOfflineTeacher(new ArraySource(new Float32Array(8), 4))).toBe(true);
    expect(isOfflineTeacher(cnn(2, 1))).toBe(false);
    expect(isOfflineTeacher({ gather: () => 0 })).toBe(false);
  });

  it("a source's set-up error stops fit before any weight changes", async () => {
    const { x, y } = data();
    const fail = new RelkdError('DATASET_MISMATCH', 'teacher.json: another data set');
    const student = cnn(3, 2);
    const w0 = weightsOf(student);
    const d = new Distiller({ teacher: offlineOf(cnn(6, 1), x, fail), student, ...kd() });
    await expect(d.fit({ x, y }, { epochs: 1, batchSize: 8 })).rejects.toBe(fail);
    expect(weightsOf(student)).toEqual(w0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('needs the rows of each batch: step, iterables without index; iterables with index work', async () => {
    const { x, y } = data();
    const source = offlineOf(cnn(6, 1), x);
    const student = cnn(3, 2);
    const d = new Distiller({ teacher: source, student, ...kd() });
    expect(() => d.step(x, y)).toThrow(/stepAsync\(x, y, rows\)/);
    // Iterable batches are the fit's: it disposes them.
    await expect(
      d.fit([{ xs: x.clone(), ys: y.clone() }], { epochs: 1, validate: 'none' }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    const rows = Array.from({ length: N }, (_, i) => N - 1 - i);
    const xr = tf.gather(x, rows);
    const yr = tf.gather(y, rows);
    const h = await d.fit([{ xs: xr, ys: yr, index: rows }], { epochs: 1 });
    expect(Number.isFinite(h.epochs[0]!.loss.kd!)).toBe(true);
    expect(source.gathered.at(-1)).toEqual(rows);
    const r = await d.stepAsync(
      x,
      y,
      Array.from({ length: N }, (_, i) => i),
    );
    expect(Number.isFinite(r.parts.kd!)).toBe(true);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('refuses teacher taps with an offline teacher', () => {
    const { x, y } = data();
    expect(
      () =>
        new Distiller({
          teacher: offlineOf(cnn(6, 1), x),
          student: cnn(3, 2),
          taps: { teacher: { features: ['conv2d'] } },
        }),
    ).toThrow(/taps.teacher with an offline teacher/);
    tf.dispose([x, y]);
  });
});
