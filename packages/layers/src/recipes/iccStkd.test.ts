import { ClassCorrelationTracker, iccLoss } from '@relkd/class-correlation';
import { RelkdError } from '@relkd/core';
import { BACKENDS, expectRelkdError, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type Batch, Distiller, type DistillerParts, type UpdateContext } from '../Distiller';
import { recipes } from '../methods';

const C = 4;
let uid = 0;

/** A small MLP on 8x8x1 images; with `dropout`, a Dropout(0.5) layer before the logits. */
function mlp(seed: number, dropout = false): tfl.LayersModel {
  const p = `ic${uid++}_`;
  const init = (s: number) => tfl.initializers.glorotNormal({ seed: seed * 10 + s });
  const layers: tfl.layers.Layer[] = [
    tfl.layers.flatten({ inputShape: [8, 8, 1], name: `${p}flat` }),
    tfl.layers.dense({ units: 16, activation: 'relu', name: `${p}h`, kernelInitializer: init(1) }),
  ];
  if (dropout) layers.push(tfl.layers.dropout({ rate: 0.5, name: `${p}drop` }));
  layers.push(tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(2) }));
  return tfl.sequential({ layers });
}

function batch() {
  const x = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 5);
  const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
  return { x, y };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as RelkdError).code;
  }
  return undefined;
}

describe.each(BACKENDS)('ICC / STKD recipes and the Distiller hooks they use on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('afterUpdate runs once per step after the update, with the batch and an inference-mode student, leaking nothing', () => {
    const student = mlp(1);
    const { x, y } = batch();
    const seen: Array<{ step: number; rows: number; same: boolean }> = [];
    let afterStepCalls = 0;
    const d = new Distiller({
      student,
      optimizer: tf.train.sgd(0.1),
      hooks: {
        afterUpdate: (ctx: UpdateContext) => {
          const out = ctx.runStudent(ctx.batch.x);
          // The student was already updated: its output equals a fresh predict() after the step.
          const now = student.predict(ctx.batch.x) as tf.Tensor;
          const diff = tf.max(tf.abs(tf.sub(out.logits, now))).dataSync()[0]!;
          seen.push({ step: ctx.step, rows: out.logits.shape[0]!, same: diff < 1e-6 });
          expect(ctx.teacher).toBeUndefined();
          tf.ones([3]); // released with the step
        },
        afterStep: () => {
          afterStepCalls++;
        },
      },
    });
    d.step(x, y);
    const before = tf.memory().numTensors;
    d.step(x, y);
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(seen).toEqual([
      { step: 0, rows: 8, same: true },
      { step: 1, rows: 8, same: true },
      { step: 2, rows: 8, same: true },
    ]);
    expect(afterStepCalls).toBe(3);
    // An error in the hook propagates and leaks nothing.
    const failing = new Distiller({
      student,
      hooks: {
        afterUpdate: () => {
          throw new RelkdError('INVALID_OPTION', 'boom');
        },
      },
    });
    expect(code(() => failing.step(x, y))).toBe('INVALID_OPTION'); // creates the optimizer state
    const b0 = tf.memory().numTensors;
    expect(code(() => failing.step(x, y))).toBe('INVALID_OPTION');
    expect(tf.memory().numTensors).toBe(b0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('iccTeacher feeds the tracker with inference-mode logits (dropout off) after the update', () => {
    const model = mlp(2, true);
    const { x } = batch();
    // Labels the model gets right in inference mode, so every sample is accumulated.
    const y = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1)) as tf.Tensor1D;
    const reference = (training: boolean) => {
      const t = new ClassCorrelationTracker({ numClasses: C, temperature: 2 });
      tf.tidy(() => t.accumulate(model.apply(x, { training }) as tf.Tensor2D, y));
      return t;
    };
    const recipe = recipes.iccTeacher({ numClasses: C, trackerTemperature: 2 });
    expect(recipe.tracker.temperature).toBe(2);
    // lr 0: the update leaves the weights as they are, so the reference sees the same model.
    const d = new Distiller({ student: model, optimizer: tf.train.sgd(0), ...recipe });
    d.step(x, y);
    const ref = reference(false);
    const counts = recipe.tracker.pendingCounts();
    expect(Array.from(counts.dataSync()).reduce((a, b) => a + b, 0)).toBe(8);
    recipe.tracker.endEpoch();
    ref.endEpoch();
    const a = recipe.tracker.matrix();
    const b = ref.matrix();
    const diff = tf.max(tf.abs(tf.sub(a, b)));
    expect(diff.dataSync()[0]!).toBeLessThan(1e-5);
    // The matrix left the identity (the samples' soft rows were accumulated).
    const eye = tf.eye(C);
    const moved = tf.max(tf.abs(tf.sub(a, eye)));
    expect(moved.dataSync()[0]!).toBeGreaterThan(1e-3);
    tf.dispose([counts, a, b, diff, eye, moved, x, y]);
    ref.dispose();
    d.dispose();
  });

  it("iccTeacher trackerLogits: 'training' keeps the old in-closure, dropout-on accumulation", () => {
    const model = mlp(3, true);
    const { x } = batch();
    const y = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1)) as tf.Tensor1D;
    const inference = recipes.iccTeacher({ numClasses: C, trackerTemperature: 2 });
    const training = recipes.iccTeacher({
      numClasses: C,
      trackerTemperature: 2,
      trackerLogits: 'training',
    });
    expect(training.hooks?.afterUpdate).toBeUndefined();
    expect(inference.hooks?.afterUpdate).toBeDefined();
    const spy = vi.spyOn(training.tracker, 'accumulate');
    const d1 = new Distiller({ student: model, optimizer: tf.train.sgd(0), ...inference });
    const d2 = new Distiller({ student: model, optimizer: tf.train.sgd(0), ...training });
    d1.step(x, y);
    d2.step(x, y);
    expect(spy).toHaveBeenCalledTimes(1);
    inference.tracker.endEpoch();
    training.tracker.endEpoch();
    const a = inference.tracker.matrix();
    const b = training.tracker.matrix();
    // Dropout (rate 0.5) changes the training-mode rows (and usually which samples are correct).
    const diff = tf.max(tf.abs(tf.sub(a, b)));
    expect(diff.dataSync()[0]!).toBeGreaterThan(1e-4);
    spy.mockRestore();
    tf.dispose([a, b, diff, x, y]);
    d1.dispose();
    d2.dispose();
  });

  it('icc: correlationTemperature follows the KD temperature unless set', () => {
    const teacher = mlp(4);
    const student = mlp(5);
    const { x, y } = batch();
    const icc = (options: Parameters<typeof recipes.icc>[0]) =>
      new Distiller({ teacher, student, optimizer: tf.train.sgd(0), ...recipes.icc(options) }).step(
        x,
        y,
      ).parts['icc/icc']!;
    const expected = (tau: number) =>
      tf.tidy(
        () =>
          iccLoss(student.predict(x) as tf.Tensor2D, teacher.predict(x) as tf.Tensor2D, {
            temperature: tau,
          }).dataSync()[0]!,
      );
    expect(icc({})).toBeCloseTo(expected(4), 5);
    expect(icc({ temperature: 2 })).toBeCloseTo(expected(2), 5);
    expect(icc({ correlationTemperature: 1 })).toBeCloseTo(expected(1), 5);
    expect(Math.abs(expected(4) - expected(1))).toBeGreaterThan(1e-4);
    tf.dispose([x, y]);
  });

  it("stkd 'mixedTeacherSoft' runs the teacher once per step (clean batch only), with the same losses", () => {
    const teacher = mlp(6);
    const student = mlp(7);
    const { x, y } = batch();
    const hidden = teacher.layers[1]!;
    const spy = vi.spyOn(hidden, 'call');
    const make = (forceTeacherOnX: boolean): DistillerParts => {
      const parts = recipes.stkd({ numClasses: C, loss: { targetMode: 'mixedTeacherSoft' } });
      const transform = parts.batchTransform!;
      return {
        ...parts,
        batchTransform: (b, c): Batch =>
          forceTeacherOnX ? { ...transform(b, c), teacherOnX: true } : transform(b, c),
      };
    };
    let keys: string[] = [];
    let logitsCode: string | undefined;
    const probe: DistillerParts['terms'] = [
      {
        name: 'probe',
        weight: 0,
        loss: (ctx) => {
          keys = Object.keys(ctx.teacher!).sort();
          logitsCode = code(() => ctx.teacher!.logits);
          return tf.scalar(0);
        },
      },
    ];
    // lr 0 and the same step index: both distillers see the same student and the same mixup.
    const now = make(false);
    const d1 = new Distiller({
      teacher,
      student,
      optimizer: tf.train.sgd(0),
      ...now,
      terms: [...now.terms!, ...probe!],
    });
    spy.mockClear();
    const r1 = d1.step(x, y);
    const callsNow = spy.mock.calls.length;
    expect(keys).toEqual(['views']);
    expect(logitsCode).toBe('INVALID_OPTION');
    const d2 = new Distiller({ teacher, student, optimizer: tf.train.sgd(0), ...make(true) });
    spy.mockClear();
    const r2 = d2.step(x, y);
    const callsBefore = spy.mock.calls.length;
    // The student's hidden layer is another object; only teacher passes are counted.
    expect(callsNow).toBe(1);
    expect(callsBefore).toBe(2);
    for (const k of ['stkd', 'stkd/ce', 'stkd/kd'])
      expect(r1.parts[k], k).toBeCloseTo(r2.parts[k]!, 6);
    expect(r1.total).toBeCloseTo(r2.total, 6);
    // Leak-free over steps in the new mode.
    const before = tf.memory().numTensors;
    d1.step(x, y);
    d1.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    spy.mockRestore();
    tf.dispose([x, y]);
  });

  it("stkd 'teacherOnMixed' (default) still runs the teacher on the mixed batch", () => {
    const teacher = mlp(8);
    const student = mlp(9);
    const { x, y } = batch();
    const spy = vi.spyOn(teacher.layers[1]!, 'call');
    const d = new Distiller({ teacher, student, ...recipes.stkd({ numClasses: C }) });
    spy.mockClear();
    const r = d.step(x, y);
    expect(spy.mock.calls.length).toBe(1);
    expect(Number.isFinite(r.parts['stkd/kd']!)).toBe(true);
    spy.mockRestore();
    tf.dispose([x, y]);
  });

  it('recipes check their options when made (INVALID_OPTION)', () => {
    const bad: Array<[string, () => unknown]> = [
      ['icc weight', () => recipes.icc({ weight: -1 })],
      ['icc temperature', () => recipes.icc({ temperature: 0 })],
      ['icc correlationTemperature', () => recipes.icc({ correlationTemperature: -2 })],
      ['icc kdWeight', () => recipes.icc({ kdWeight: Number.NaN })],
      ['icc iccWeight', () => recipes.icc({ iccWeight: Number.POSITIVE_INFINITY })],
      ['icc normalize', () => recipes.icc({ normalize: 'l2' as never })],
      ['icc validate', () => recipes.icc({ validate: 'all' as never })],
      ['icc options', () => recipes.icc(null as never)],
      ['iccTeacher numClasses 1', () => recipes.iccTeacher({ numClasses: 1 })],
      ['iccTeacher numClasses 2.5', () => recipes.iccTeacher({ numClasses: 2.5 })],
      ['iccTeacher missing', () => recipes.iccTeacher({} as never)],
      ['iccTeacher weight', () => recipes.iccTeacher({ numClasses: 3, weight: 1.5 })],
      ['iccTeacher kind', () => recipes.iccTeacher({ numClasses: 3, kind: 'x' as never })],
      [
        'iccTeacher gramNormalize',
        () => recipes.iccTeacher({ numClasses: 3, gramNormalize: 'x' as never }),
      ],
      [
        'iccTeacher trackerTemperature',
        () => recipes.iccTeacher({ numClasses: 3, trackerTemperature: 0 }),
      ],
      [
        'iccTeacher trackerLogits',
        () => recipes.iccTeacher({ numClasses: 3, trackerLogits: 'eval' as never }),
      ],
      ['stkd missing', () => recipes.stkd(undefined as never)],
      ['stkd numClasses', () => recipes.stkd({ numClasses: 1 })],
      ['stkd numClasses float', () => recipes.stkd({ numClasses: 3.5 })],
      ['stkd alpha', () => recipes.stkd({ numClasses: 3, alpha: -1 })],
      ['stkd perSample', () => recipes.stkd({ numClasses: 3, perSample: 1 as never })],
      ['stkd weight', () => recipes.stkd({ numClasses: 3, weight: -0.5 })],
      ['stkd loss', () => recipes.stkd({ numClasses: 3, loss: 3 as never })],
      ['stkd temperature', () => recipes.stkd({ numClasses: 3, loss: { temperature: 0 } })],
      ['stkd ceWeight', () => recipes.stkd({ numClasses: 3, loss: { ceWeight: -1 } })],
      ['stkd kdWeight', () => recipes.stkd({ numClasses: 3, loss: { kdWeight: Number.NaN } })],
      [
        'stkd targetMode',
        () => recipes.stkd({ numClasses: 3, loss: { targetMode: 'mixed' as never } }),
      ],
    ];
    for (const [name, make] of bad) {
      const err = expectRelkdError(make, 'INVALID_OPTION');
      expect(err.message.length, name).toBeGreaterThan(10);
    }
    // Valid options still make recipes.
    expect(
      recipes.icc({ temperature: 2, correlationTemperature: 1, weight: 0 }).terms,
    ).toHaveLength(1);
    const t = recipes.iccTeacher({ numClasses: 2, weight: 1, trackerTemperature: 4 });
    t.tracker.dispose();
    expect(recipes.stkd({ numClasses: 2, alpha: 0, perSample: true }).terms).toHaveLength(1);
  });
});
