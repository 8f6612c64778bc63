import { Rng } from '@relkd/core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { mixup, mixupWith, type StkdTargetMode, stkdLoss } from './index';

const RUNS = 25;

/** A random problem: logits with extreme values, constant rows and duplicate rows. */
const problem = (maxAbs: number) =>
  fc
    .record({
      b: fc.integer({ min: 1, max: 6 }),
      c: fc.integer({ min: 2, max: 7 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
      temperature: fc.constantFrom(0.5, 1, 2, 4, 8),
      ceWeight: fc.double({ min: 0, max: 2, noNaN: true }),
      kdWeight: fc.double({ min: 0, max: 2, noNaN: true }),
      mode: fc.constantFrom<StkdTargetMode>('teacherOnMixed', 'mixedTeacherSoft'),
      perSample: fc.boolean(),
      style: fc.constantFrom('random', 'constantRows', 'duplicateRows', 'extreme', 'equal'),
    })
    .map((p) => {
      const rng = new Rng(p.seed);
      const rnd = (): number => rng.next();
      const row = (): number[] => {
        if (p.style === 'constantRows') {
          const v = (rnd() - 0.5) * 2 * maxAbs;
          return Array.from({ length: p.c }, () => v);
        }
        if (p.style === 'extreme')
          return Array.from({ length: p.c }, () => (rnd() < 0.5 ? -maxAbs : maxAbs) * rnd());
        return Array.from({ length: p.c }, () => (rnd() - 0.5) * 2 * Math.min(maxAbs, 5));
      };
      const rows = (): number[][] => {
        const r = Array.from({ length: p.b }, row);
        if (p.style === 'duplicateRows') return r.map(() => r[0]!);
        return r;
      };
      const student = rows();
      const teacher = p.style === 'equal' ? student : rows();
      const labels = Array.from({ length: p.b }, () => Math.floor(rnd() * p.c));
      const perm = shuffle(p.b, rnd);
      const lambda = p.perSample ? Array.from({ length: p.b }, () => pick(rnd)) : pick(rnd);
      return { ...p, student, teacher, labels, perm, lambda };
    });

function pick(rnd: () => number): number {
  const u = rnd();
  return u < 0.15 ? 0 : u < 0.3 ? 1 : Math.fround(rnd());
}

function shuffle(n: number, rnd: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

type Problem = ReturnType<typeof problem> extends fc.Arbitrary<infer T> ? T : never;

function run(p: Problem) {
  const s = tf.tensor2d(p.student);
  const targets = mixupWith(tf.zeros([p.b, 1]), p.labels, {
    numClasses: p.c,
    lambda: p.lambda,
    permutation: p.perm,
  }).targets;
  const teacher =
    p.mode === 'teacherOnMixed'
      ? tf.tensor2d(p.teacher)
      : { clean: tf.tensor2d(p.teacher), lambda: p.lambda, permutation: p.perm };
  const opts = {
    temperature: p.temperature,
    ceWeight: p.ceWeight,
    kdWeight: p.kdWeight,
    targetMode: p.mode,
  };
  const out = stkdLoss({ student: s, teacher, targets }, opts);
  const grad = tf.grad((x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, opts).total)(s);
  return { s, targets, teacher, opts, out, grad };
}

const finite = (t: tf.Tensor): boolean => Array.from(t.dataSync()).every(Number.isFinite);

describe.each(BACKENDS)('fast-check properties on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('values and gradients are finite for finite inputs (|logit| up to 1e4, constant/duplicate rows, B = 1)', () => {
    fc.assert(
      fc.property(problem(1e4), (p) => {
        tf.tidy(() => {
          const { out, grad } = run(p);
          expect(finite(out.total) && finite(out.ce) && finite(out.kd), 'finite values').toBe(true);
          expect(finite(grad), 'finite gradient').toBe(true);
          expect(out.ce.dataSync()[0]!).toBeGreaterThanOrEqual(0);
        });
      }),
      { numRuns: RUNS, seed: 42 },
    );
  });

  it('KL >= 0 and the closed-form gradients hold (moderate logits)', () => {
    fc.assert(
      fc.property(problem(30), (p) => {
        tf.tidy(() => {
          const { s, targets, teacher, opts, out } = run(p);
          const tau = p.temperature;
          expect(out.kd.dataSync()[0]!).toBeGreaterThanOrEqual(-1e-5 * tau * tau);
          const gKd = tf.grad(
            (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, opts).kd,
          )(s);
          const gCe = tf.grad(
            (x: tf.Tensor) => stkdLoss({ student: x, teacher, targets }, opts).ce,
          )(s);
          const pt = tf.softmax(tf.div(tf.tensor2d(p.teacher), tau));
          let q: tf.Tensor = pt;
          if (p.mode === 'mixedTeacherSoft') {
            const lam = Array.isArray(p.lambda)
              ? tf.tensor2d(p.lambda, [p.b, 1])
              : tf.scalar(p.lambda);
            q = tf.add(tf.mul(lam, pt), tf.mul(tf.sub(1, lam), tf.gather(pt, p.perm)));
          }
          expectClose(gKd, tf.mul(tf.sub(tf.softmax(tf.div(s, tau)), q), tau / p.b), {
            rtol: 1e-3,
            atol: 1e-6,
          });
          expectClose(gCe, tf.div(tf.sub(tf.softmax(s), targets), p.b), { rtol: 1e-3, atol: 1e-6 });
        });
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });

  it('mixup: any rank, rows are convex combinations, targets are distributions', () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
          b: fc.integer({ min: 1, max: 6 }),
          c: fc.integer({ min: 1, max: 5 }),
          alpha: fc.constantFrom(0, 0.2, 1, 4),
          perSample: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        ({ shape, b, c, alpha, perSample, seed }) => {
          tf.tidy(() => {
            const x = tf.randomUniform([b, ...shape], -1e4, 1e4, 'float32', seed);
            const labels = Array.from({ length: b }, (_, i) => (i * 7 + seed) % c);
            const m = mixup(x, labels, { numClasses: c, seed, alpha, perSample });
            expect(m.inputs.shape).toEqual(x.shape);
            expect(finite(m.inputs)).toBe(true);
            const lo = tf.minimum(x, tf.gather(x, m.permutation));
            const hi = tf.maximum(x, tf.gather(x, m.permutation));
            const slack = 1e-2; // float32 rounding at |x| ~ 1e4
            expect(tf.all(tf.greaterEqual(m.inputs, tf.sub(lo, slack))).dataSync()[0]).toBe(1);
            expect(tf.all(tf.lessEqual(m.inputs, tf.add(hi, slack))).dataSync()[0]).toBe(1);
            expectClose(tf.sum(m.targets, 1), tf.ones([b]), { atol: 1e-6 });
            expect([...m.permutation.dataSync()].sort((u, v) => u - v)).toEqual(
              Array.from({ length: b }, (_, i) => i),
            );
          });
        },
      ),
      { numRuns: RUNS, seed: 3 },
    );
  });
});
