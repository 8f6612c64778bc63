import { crossEntropy, kdLoss } from '@relkd/core';
import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  fdDirectional,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type IccStudentLossOptions, iccLoss, iccStudentLoss } from './index';

interface StudentFixture {
  student: number[][];
  teacher: number[][];
  labels: number[];
  cases: {
    options: IccStudentLossOptions;
    total: number;
    ce: number;
    kd: number;
    icc: number;
    grad: number[][];
  }[];
}
const fixture = loadFixture<StudentFixture>(import.meta.url, 'student');

describe.each(BACKENDS)('iccStudentLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it.each(fixture.cases)('matches the float64 reference (options $options)', (c) => {
    const s = tf.tensor2d(fixture.student);
    const t = tf.tensor2d(fixture.teacher);
    const y = tf.tensor1d(fixture.labels, 'int32');
    const out = iccStudentLoss({ student: s, teacher: t, labels: y }, c.options);
    expectClose(out.total, c.total, { label: 'total' });
    expectClose(out.ce, c.ce, { label: 'ce' });
    expectClose(out.kd, c.kd, { label: 'kd' });
    expectClose(out.icc, c.icc, { label: 'icc', atol: 1e-8 });
    const [gs, gt] = tf.grads(
      (a: tf.Tensor, b: tf.Tensor) =>
        iccStudentLoss({ student: a, teacher: b, labels: y }, c.options).total,
    )([s, t]);
    expectClose(gs!, c.grad, { rtol: 1e-3, atol: 1e-6, label: 'student gradient' });
    expectClose(gt!, tf.zerosLike(t), { rtol: 0, atol: 0, label: 'no teacher gradient' });
    tf.dispose([s, t, y, out, gs!, gt!]);
  });

  it('is CE + kdWeight·kdLoss(T) + iccWeight·iccLoss(τ) built from core', () => {
    const s = tf.randomNormal([5, 4], 0, 2, 'float32', 51) as tf.Tensor2D;
    const t = tf.randomNormal([5, 4], 0, 2, 'float32', 52) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1, 3, 3, 2], 'int32');
    const out = iccStudentLoss(
      { student: s, teacher: t, labels: y },
      { temperature: 3, correlationTemperature: 2, kdWeight: 0.5, iccWeight: 4 },
    );
    expectClose(out.ce, crossEntropy(s, y));
    expectClose(out.kd, kdLoss(s, t, { temperature: 3 }));
    expectClose(out.icc, iccLoss(s, t, { temperature: 2 }));
    expectClose(out.total, tf.addN([out.ce, tf.mul(out.kd, 0.5), tf.mul(out.icc, 4)]));
    tf.dispose([s, t, y, out]);
  });

  it('correlationTemperature defaults to the KD temperature; 1 stays reachable explicitly', () => {
    const s = tf.randomNormal([6, 5], 0, 2, 'float32', 56) as tf.Tensor2D;
    const t = tf.randomNormal([6, 5], 0, 3, 'float32', 57) as tf.Tensor2D;
    const y = [0, 1, 2, 3, 4, 0];
    const at = (options: IccStudentLossOptions) =>
      iccStudentLoss({ student: s, teacher: t, labels: y }, options);
    const def = at({});
    const t3 = at({ temperature: 3 });
    const old = at({ correlationTemperature: 1 });
    const i4 = iccLoss(s, t, { temperature: 4 });
    const i3 = iccLoss(s, t, { temperature: 3 });
    const i1 = iccLoss(s, t, { temperature: 1 });
    expectClose(def.icc, i4);
    expectClose(t3.icc, i3);
    expectClose(old.icc, i1);
    expect(Math.abs(def.icc.arraySync() - old.icc.arraySync())).toBeGreaterThan(1e-4);
    tf.dispose([s, t, def, t3, old, i4, i3, i1]);
  });

  it('finite differences agree with autodiff', () => {
    const s = tf.randomNormal([5, 4], 0, 2, 'float32', 53);
    const t = tf.randomNormal([5, 4], 0, 2, 'float32', 54);
    const v = tf.randomNormal([5, 4], 0, 1, 'float32', 55);
    const f = (x: tf.Tensor) =>
      iccStudentLoss({ student: x, teacher: t, labels: [0, 1, 2, 3, 0] }, { iccWeight: 3 }).total;
    const g = tf.grad(f)(s);
    const analytic = tf.sum(tf.mul(g, v)).dataSync()[0]!;
    const numeric = fdDirectional(f, s, v, 1e-2);
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-2 * Math.abs(numeric) + 1e-3);
    tf.dispose([s, t, v, g]);
  });

  it('leaks no tensor beyond the four returned scalars (also when throwing)', () => {
    const s = tf.randomNormal([4, 3]);
    const t = tf.randomNormal([4, 3]);
    expectNoLeak(() => iccStudentLoss({ student: s, teacher: t, labels: [0, 1, 2, 0] }));
    expectNoLeak(() =>
      tf.grad(
        (x: tf.Tensor) => iccStudentLoss({ student: x, teacher: t, labels: [0, 1, 2, 0] }).total,
      )(s),
    );
    expectNoLeak(() => iccStudentLoss({ student: s, teacher: t, labels: [0, 1, 5, 0] }));
    tf.dispose([s, t]);
  });

  it('rejects bad inputs with RelkdError codes', () => {
    const s = tf.randomNormal([4, 3]);
    const t = tf.randomNormal([4, 3]);
    const t2 = tf.randomNormal([3, 3]);
    const yBad = tf.tensor1d([0, 1, 7, 0], 'int32');
    const yFloat = tf.tensor1d([0, 1, 2, 0]);
    const y = [0, 1, 2, 0];
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t2, labels: y }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: [0, 1] }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: [0, 1, 3, 0] }),
      'LABEL_OUT_OF_RANGE',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: yBad }, { validate: 'full' }),
      'LABEL_OUT_OF_RANGE',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: yFloat }),
      'DTYPE_MISMATCH',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: y }, { kdWeight: -1 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () =>
        iccStudentLoss(
          { student: s, teacher: t, labels: y },
          { iccWeight: Number.POSITIVE_INFINITY },
        ),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: y }, { temperature: 0 }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => iccStudentLoss({ student: s, teacher: t, labels: y }, { correlationTemperature: 0 }),
      'INVALID_OPTION',
    );
    expectRelkdError(() => iccStudentLoss(null as never), 'INVALID_OPTION');
    tf.dispose([s, t, t2, yBad, yFloat]);
  });

  it('property: finite total and gradient for extreme logits, B = 1 included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 5 }),
        fc.infiniteStream(
          fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(0, 1e4, -1e4)),
        ),
        fc.infiniteStream(fc.nat()),
        (b, c, stream, labels) => {
          const it = stream[Symbol.iterator]();
          const li = labels[Symbol.iterator]();
          const mk = () =>
            Array.from({ length: b }, () =>
              Array.from({ length: c }, () => Math.fround(it.next().value as number)),
            );
          const y = Array.from({ length: b }, () => (li.next().value as number) % c);
          tf.tidy(() => {
            const s = tf.tensor2d(mk());
            const t = tf.tensor2d(mk());
            const g = tf.grad(
              (x: tf.Tensor) => iccStudentLoss({ student: x, teacher: t, labels: y }).total,
            )(s);
            const v = iccStudentLoss({ student: s, teacher: t, labels: y }).total.dataSync()[0]!;
            expect(Number.isFinite(v)).toBe(true);
            expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
          });
        },
      ),
      { numRuns: 30, seed: 5 },
    );
  });
});
