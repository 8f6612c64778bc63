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
import { type UepOption, type VrmLossOptions, validateVrmLossOptions, vrmLoss } from './index';

interface Case {
  inputs: 'random' | 'teacherDup' | 'nearDup';
  options: Required<Pick<VrmLossOptions, 'zsNorm' | 'isEdges' | 'uep'>> & {
    weights: { is: number; ic: number };
  };
  total: number;
  is: number;
  ic: number;
  gradStudentReal: number[][];
  gradStudentVirtual: number[][];
}
interface Fixture {
  inputs: Record<
    string,
    Record<'studentReal' | 'studentVirtual' | 'teacherReal' | 'teacherVirtual', number[][]>
  >;
  cases: Case[];
  dupCases: Omit<Case, 'inputs' | 'gradStudentReal' | 'gradStudentVirtual'>[];
}
const fixture = loadFixture<Fixture>(import.meta.url, 'vrm');

type T2 = tf.Tensor2D;
const loss = (ss: tf.Tensor, sv: tf.Tensor, ts: tf.Tensor, tv: tf.Tensor, o: VrmLossOptions = {}) =>
  vrmLoss({ student: { real: ss, virtual: sv }, teacher: { real: ts, virtual: tv } }, o);

function inputsOf(kind: string): [T2, T2, T2, T2] {
  const d = fixture.inputs[kind]!;
  return [
    tf.tensor2d(d.studentReal),
    tf.tensor2d(d.studentVirtual),
    tf.tensor2d(d.teacherReal),
    tf.tensor2d(d.teacherVirtual),
  ];
}

function describeOpts(o: Case['options']): string {
  const u = o.uep.kind === 'none' ? 'none' : JSON.stringify(o.uep);
  return `zs=${o.zsNorm} ${o.isEdges} uep=${u} w=${o.weights.is}/${o.weights.ic}`;
}

const rand = (shape: [number, number], seed: number, scale = 2) =>
  tf.randomNormal(shape, 0, scale, 'float32', seed) as T2;

describe.each(BACKENDS)('vrmLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe('golden values vs the float64 reference (every option combination)', () => {
    for (const c of fixture.cases) {
      const paths =
        c.options.uep.kind === 'clip'
          ? (['auto', 'direct'] as const)
          : (['auto', 'gram', 'direct'] as const);
      for (const path of paths) {
        it(`${c.inputs} ${describeOpts(c.options)} path=${path}: value and gradients`, () => {
          tf.tidy(() => {
            const [ss, sv, ts, tv] = inputsOf(c.inputs);
            const o = { ...c.options, path };
            const r = loss(ss, sv, ts, tv, o);
            expectClose(r.total, c.total, { label: 'total' });
            expectClose(r.is, c.is, { label: 'is' });
            expectClose(r.ic, c.ic, { label: 'ic' });
            const [gr, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, ts, tv, o).total)([
              ss,
              sv,
            ]);
            expectClose(gr!, c.gradStudentReal, {
              rtol: 1e-3,
              atol: 1e-5,
              label: 'd/dStudentReal',
            });
            expectClose(gv!, c.gradStudentVirtual, {
              rtol: 1e-3,
              atol: 1e-5,
              label: 'd/dStudentVirtual',
            });
          });
        });
      }
    }
  });

  it('golden values with duplicate and constant rows (every option combination, both paths)', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = inputsOf('dup');
      for (const c of fixture.dupCases) {
        const paths = c.options.uep.kind === 'clip' ? ['direct'] : ['gram', 'direct'];
        for (const path of paths) {
          const r = loss(ss, sv, ts, tv, { ...c.options, path } as VrmLossOptions);
          const label = `${describeOpts(c.options)} ${path}`;
          expectClose(r.total, c.total, { label: `${label} total` });
          expectClose(r.is, c.is, { label: `${label} is` });
          expectClose(r.ic, c.ic, { label: `${label} ic` });
          const g = tf.grads(
            (a: tf.Tensor, b: tf.Tensor) =>
              loss(a, b, ts, tv, { ...c.options, path } as VrmLossOptions).total,
          )([ss, sv]);
          for (const x of g)
            expect(tf.all(tf.isFinite(x)).dataSync()[0], `${label} finite grad`).toBe(1);
        }
      }
    });
  });

  it('Gram and direct paths agree on larger random inputs (incl. validity handling)', () => {
    tf.tidy(() => {
      const b = 6;
      const c = 9;
      const ss = rand([b, c], 1);
      // duplicate rows (exact) and a constant row in both networks
      const sv = tf.concat([tf.slice(ss, [0, 0], [2, c]), rand([b - 2, c], 2)]) as T2;
      const ts = tf.concat([rand([b - 1, c], 3), tf.fill([1, c], 0.25)]) as T2;
      const tv = tf.concat([tf.slice(ts, [0, 0], [1, c]), rand([b - 1, c], 4)]) as T2;
      for (const zsNorm of [true, false]) {
        for (const isEdges of ['cross', 'upper'] as const) {
          for (const uep of [
            { kind: 'none' },
            { kind: 'jointEntropy', ratio: 0.3 },
          ] as UepOption[]) {
            const o = { zsNorm, isEdges, uep };
            const g = loss(ss, sv, ts, tv, { ...o, path: 'gram' });
            const d = loss(ss, sv, ts, tv, { ...o, path: 'direct' });
            expectClose(g.is, d.is, { label: `is ${JSON.stringify(o)}` });
            expectClose(g.ic, d.ic, { label: `ic ${JSON.stringify(o)}` });
            const grad = (path: 'gram' | 'direct') =>
              tf.grads((a: tf.Tensor, bb: tf.Tensor) => loss(a, bb, ts, tv, { ...o, path }).total)([
                ss,
                sv,
              ]);
            const [g1, g2] = grad('gram');
            const [d1, d2] = grad('direct');
            expectClose(g1!, d1!, { rtol: 1e-3, atol: 1e-5, label: 'grad real' });
            expectClose(g2!, d2!, { rtol: 1e-3, atol: 1e-5, label: 'grad virtual' });
          }
        }
      }
    });
  });

  it('near-duplicate view pair: direct path uses the Gram relative tolerance (same finite gradient)', () => {
    tf.tidy(() => {
      const [b, c] = [4, 10];
      const [ss, ts, tv] = [rand([b, c], 101), rand([b, c], 102), rand([b, c], 103)];
      const noise = rand([1, c], 104, 1);
      // 1e-1: clearly valid; 1e-3..1e-6: clearly below the floor (|d|² ≈ 1e-7 · (|a|² + |b|²) and
      // less). 1e-2 sits just above the floor (ratio ≈ 1.2e-5 vs 1e-5): valid on both paths, but
      // the Gram identity loses ~1% there to cancellation, hence the looser tolerance.
      for (const [offset, rtol] of [
        [1e-1, 1e-3],
        [1e-2, 3e-2],
        [1e-3, 1e-3],
        [1e-4, 1e-3],
        [1e-5, 1e-3],
        [1e-6, 1e-3],
      ] as const) {
        // row 0 of the virtual view is a near-twin of row 0 of the real view
        const twin = tf.add(tf.slice(ss, [0, 0], [1, c]), tf.mul(noise, offset));
        const sv = tf.concat([twin, rand([b - 1, c], 105)]) as T2;
        for (const zsNorm of [true, false]) {
          const grad = (o: VrmLossOptions) =>
            tf.grads((x: tf.Tensor, y: tf.Tensor) => loss(x, y, ts, tv, { zsNorm, ...o }).total)([
              ss,
              sv,
            ]);
          const label = `offset ${offset} zs=${zsNorm}`;
          const [g1, g2] = grad({ path: 'gram' });
          const [d1, d2] = grad({ path: 'direct' });
          expectClose(
            loss(ss, sv, ts, tv, { zsNorm, path: 'direct' }).total,
            loss(ss, sv, ts, tv, { zsNorm, path: 'gram' }).total,
            { rtol, label: `${label} value` },
          );
          expectClose(d1!, g1!, { rtol, atol: 1e-4, label: `${label} grad real` });
          expectClose(d2!, g2!, { rtol, atol: 1e-4, label: `${label} grad virtual` });
          // the automatic direct path (clip) stays finite and of normal size
          const [c1, c2] = grad({ uep: { kind: 'clip', delta: 0.5 } });
          for (const g of [c1!, c2!, d1!, d2!]) {
            const norm = tf.norm(g).dataSync()[0]!;
            expect(Number.isFinite(norm), label).toBe(true);
            expect(norm, label).toBeLessThan(50);
          }
          // gramTolerance: 0 is the old absolute rule: the noise edge is kept, its gradient explodes
          if (offset === 1e-6) {
            const [o1, o2] = grad({ path: 'direct', gramTolerance: 0 });
            expect(tf.norm(tf.concat([o1!, o2!])).dataSync()[0], label).toBeGreaterThan(1e3);
          }
        }
      }
    });
  });

  it('finite-difference gradients (Gram and direct paths)', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([3, 5], 11),
        rand([3, 5], 12),
        rand([3, 5], 13),
        rand([3, 5], 14),
      ];
      for (const o of [
        { path: 'gram' },
        { path: 'direct', isEdges: 'upper', zsNorm: false },
        { uep: { kind: 'jointEntropy', ratio: 0.5 } },
      ] as VrmLossOptions[]) {
        for (const which of [0, 1]) {
          const f = (x: tf.Tensor) =>
            (which === 0 ? loss(x, sv, ts, tv, o) : loss(ss, x, ts, tv, o)).total;
          const x = which === 0 ? ss : sv;
          const v = rand([3, 5], 20 + which, 1);
          const g = tf.grad(f)(x);
          const analytic = tf.sum(tf.mul(g, v)).dataSync()[0]!;
          const numeric = fdDirectional(f, x, v, 1e-3);
          expect(Math.abs(analytic - numeric), `${JSON.stringify(o)} ${which}`).toBeLessThan(
            2e-2 * Math.max(1e-2, Math.abs(numeric)),
          );
        }
      }
    });
  });

  it('student == teacher gives zero loss and zero gradient', () => {
    tf.tidy(() => {
      const s = rand([4, 6], 5);
      const sv = rand([4, 6], 6);
      for (const path of ['gram', 'direct'] as const) {
        for (const zsNorm of [true, false]) {
          const r = loss(s, sv, s, sv, { path, zsNorm, isEdges: 'upper' });
          expectClose(r.total, 0, { atol: 1e-5 });
          const [g1, g2] = tf.grads(
            (a: tf.Tensor, b: tf.Tensor) => loss(a, b, s, sv, { path, zsNorm }).total,
          )([s, sv]);
          expectClose(g1!, tf.zerosLike(s), { atol: 1e-4 });
          expectClose(g2!, tf.zerosLike(s), { atol: 1e-4 });
        }
      }
    });
  });

  it('zsNorm: invariant to a per-row positive affine map of the student; gradient rows sum to 0', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([4, 6], 21),
        rand([4, 6], 22),
        rand([4, 6], 23),
        rand([4, 6], 24),
      ];
      const a = tf.tensor2d([[0.5], [3], [1.7], [10]]);
      const b = tf.tensor2d([[-4], [2], [0], [7]]);
      const map = (x: tf.Tensor) => tf.add(tf.mul(x, a), b);
      for (const path of ['gram', 'direct'] as const) {
        const r0 = loss(ss, sv, ts, tv, { path });
        const r1 = loss(map(ss), map(sv), ts, tv, { path });
        expectClose(r1.total, r0.total, { rtol: 1e-4 });
        const [g1, g2] = tf.grads(
          (x: tf.Tensor, y: tf.Tensor) => loss(x, y, ts, tv, { path }).total,
        )([ss, sv]);
        expectClose(tf.sum(g1!, 1), tf.zeros([4]), { atol: 1e-5 });
        expectClose(tf.sum(g2!, 1), tf.zeros([4]), { atol: 1e-5 });
      }
    });
  });

  it('without zsNorm: global scale invariance; IS shift-by-vector and IC per-row-shift invariance', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([4, 6], 31),
        rand([4, 6], 32),
        rand([4, 6], 33),
        rand([4, 6], 34),
      ];
      for (const path of ['gram', 'direct'] as const) {
        const o: VrmLossOptions = { zsNorm: false, path, isEdges: 'upper' };
        const r0 = loss(ss, sv, ts, tv, o);
        const r1 = loss(tf.mul(ss, 7.5), tf.mul(sv, 7.5), ts, tv, o);
        expectClose(r1.total, r0.total, { rtol: 1e-4 });
        const vec = tf.tensor2d([[1, -2, 3, 0.5, 4, -1]]);
        const r2 = loss(tf.add(ss, vec), tf.add(sv, vec), ts, tv, o);
        expectClose(r2.is, r0.is, { rtol: 1e-4 });
        const shiftR = tf.tensor2d([[3], [-1], [0.5], [2]]);
        const shiftV = tf.tensor2d([[-2], [4], [1], [-3]]);
        const r3 = loss(tf.add(ss, shiftR), tf.add(sv, shiftV), ts, tv, o);
        expectClose(r3.ic, r0.ic, { rtol: 1e-4 });
      }
    });
  });

  it('permutation invariance (images in all four inputs; classes in both networks)', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([5, 6], 41),
        rand([5, 6], 42),
        rand([5, 6], 43),
        rand([5, 6], 44),
      ];
      const pi = tf.tensor1d([3, 0, 4, 1, 2], 'int32');
      const pc = tf.tensor1d([5, 2, 0, 4, 1, 3], 'int32');
      const pImg = (x: tf.Tensor) => tf.gather(x, pi);
      const pCls = (x: tf.Tensor) => tf.gather(x, pc, 1);
      for (const isEdges of ['cross', 'upper'] as const) {
        for (const path of ['gram', 'direct'] as const) {
          const o: VrmLossOptions = { isEdges, path };
          const r0 = loss(ss, sv, ts, tv, o);
          const r1 = loss(pImg(ss), pImg(sv), pImg(ts), pImg(tv), o);
          const r2 = loss(pCls(ss), pCls(sv), pCls(ts), pCls(tv), o);
          for (const r of [r1, r2]) {
            expectClose(r.is, r0.is, { rtol: 1e-5 });
            expectClose(r.ic, r0.ic, { rtol: 1e-5 });
          }
        }
      }
    });
  });

  it('weights: total = weights.is * is + weights.ic * ic with unweighted parts', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([3, 4], 51),
        rand([3, 4], 52),
        rand([3, 4], 53),
        rand([3, 4], 54),
      ];
      const r0 = loss(ss, sv, ts, tv);
      const r = loss(ss, sv, ts, tv, { weights: { is: 0.25, ic: 3 } });
      expectClose(r.is, r0.is);
      expectClose(r.ic, r0.ic);
      expectClose(r.total, tf.add(tf.mul(r0.is, 0.25), tf.mul(r0.ic, 3)));
      expectClose(loss(ss, sv, ts, tv, { weights: { ic: 0 } }).total, r0.is);
    });
  });

  it('masked edges get exactly zero gradient; all masked gives 0, not NaN', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([3, 4], 61),
        rand([3, 4], 62),
        rand([3, 4], 63),
        rand([3, 4], 64),
      ];
      const zero = (o: VrmLossOptions, part: 'is' | 'ic' | 'total') => {
        const r = loss(ss, sv, ts, tv, o);
        expect(r[part].dataSync()[0]).toBe(0);
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, ts, tv, o)[part])([ss, sv]);
        for (const g of gs) expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      };
      // every IS edge pruned by joint entropy (ratio 1)
      for (const path of ['gram', 'direct'] as const)
        zero({ uep: { kind: 'jointEntropy', ratio: 1 }, path }, 'is');
      // every entry clipped
      zero({ uep: { kind: 'clip', delta: 1e-12 } }, 'total');
      // all edges invalid: one class (IC has no edge; z-scored rows are 0 so IS edges are invalid)
      for (const path of ['gram', 'direct'] as const) {
        const one = rand([3, 1], 65);
        const r = loss(one, one, one, one, { path });
        expect(r.total.dataSync()[0]).toBe(0);
        const g = tf.grad((a: tf.Tensor) => loss(a, one, one, one, { path }).total)(one);
        expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      }
      // teacher duplicates: the student row whose every IS edge is teacher-invalid gets no IS gradient
      const tDup = tf.tile(tf.slice(ts, [0, 0], [1, 4]), [3, 1]);
      for (const path of ['gram', 'direct'] as const) {
        const o: VrmLossOptions = { path, weights: { ic: 0 } };
        const r = loss(ss, sv, tDup, tDup, o);
        expect(r.is.dataSync()[0]).toBe(0);
        const g = tf.grad((a: tf.Tensor) => loss(a, sv, tDup, tDup, o).total)(ss);
        expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      }
    });
  });

  it('B = 1: the single IS edge is the image with its own virtual view', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([1, 5], 71),
        rand([1, 5], 72),
        rand([1, 5], 73),
        rand([1, 5], 74),
      ];
      for (const path of ['gram', 'direct'] as const) {
        for (const isEdges of ['cross', 'upper'] as const) {
          const r = loss(ss, sv, ts, tv, { zsNorm: false, path, isEdges });
          const ds = tf.sub(ss, sv);
          const dt = tf.sub(ts, tv);
          const cos = tf.div(tf.sum(tf.mul(ds, dt)), tf.mul(tf.norm(ds), tf.norm(dt)));
          expectClose(r.is, tf.sub(2, tf.mul(cos, 2)), { label: `${path} ${isEdges}` });
          const g = tf.grad((a: tf.Tensor) => loss(a, sv, ts, tv, { path, isEdges }).total)(ss);
          expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
        }
      }
    });
  });

  it('the teacher never receives a gradient', () => {
    tf.tidy(() => {
      const [ss, sv, ts, tv] = [
        rand([3, 4], 81),
        rand([3, 4], 82),
        rand([3, 4], 83),
        rand([3, 4], 84),
      ];
      for (const o of [
        { path: 'gram' },
        { path: 'direct' },
        { uep: { kind: 'clip', delta: 0.5 } },
      ] as VrmLossOptions[]) {
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(ss, sv, a, b, o).total)([ts, tv]);
        for (const g of gs) expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
      }
    });
  });

  it('kernel count does not depend on B or C', async () => {
    const count = async (b: number, c: number, o: VrmLossOptions) => {
      const x = [rand([b, c], 1), rand([b, c], 2), rand([b, c], 3), rand([b, c], 4)] as const;
      const info = await tf.profile(() =>
        tf.grads((a: tf.Tensor, bb: tf.Tensor) => loss(a, bb, x[2], x[3], o).total)([x[0], x[1]]),
      );
      tf.dispose([...x]);
      return info.kernels.length;
    };
    for (const o of [
      {},
      { isEdges: 'upper' },
      { uep: { kind: 'jointEntropy', ratio: 0.3 } },
      { uep: { kind: 'clip', delta: 0.5 } },
    ] as VrmLossOptions[]) {
      const small = await count(2, 3, o);
      expect(small).toBeGreaterThan(10);
      expect(await count(5, 7, o), JSON.stringify(o)).toBe(small);
    }
  });

  it('the Gram path never materialises an edge tensor (largest kernel output is [V, V]-sized)', async () => {
    const [b, c] = [12, 40];
    const x = [rand([b, c], 1), rand([b, c], 2), rand([b, c], 3), rand([b, c], 4)] as const;
    for (const o of [{}, { uep: { kind: 'jointEntropy', ratio: 0.2 } }] as VrmLossOptions[]) {
      const info = await tf.profile(() =>
        tf.grads((a: tf.Tensor, bb: tf.Tensor) => loss(a, bb, x[2], x[3], o).total)([x[0], x[1]]),
      );
      tf.dispose(info.result as tf.Tensor[]);
      const largest = Math.max(
        ...info.kernels.flatMap((k) => k.outputShapes.map((s) => s.reduce((p, d) => p * d, 1))),
      );
      expect(largest).toBeLessThanOrEqual(Math.max(c * c, 2 * b * c));
      expect(largest).toBeGreaterThanOrEqual(c * c); // the [C, C] Gram matrices are seen
    }
    // the direct path does build them (sanity check of the measurement)
    const direct = await tf.profile(() => loss(x[0], x[1], x[2], x[3], { path: 'direct' }).total);
    tf.dispose(direct.result as tf.Tensor);
    const largestDirect = Math.max(
      ...direct.kernels.flatMap((k) => k.outputShapes.map((s) => s.reduce((p, d) => p * d, 1))),
    );
    expect(largestDirect).toBeGreaterThanOrEqual(c * c * 2 * b);
    tf.dispose([...x]);
  });

  it('leaks no tensor (values, gradients, every path and throwing calls)', () => {
    const [ss, sv, ts, tv] = [
      rand([3, 4], 91),
      rand([3, 4], 92),
      rand([3, 4], 93),
      rand([3, 4], 94),
    ];
    for (const o of [
      {},
      { path: 'direct' },
      { uep: { kind: 'clip', delta: 0.5 } },
      { uep: { kind: 'jointEntropy', ratio: 0.5 }, isEdges: 'upper' },
    ] as VrmLossOptions[]) {
      expectNoLeak(() => loss(ss, sv, ts, tv, o));
      expectNoLeak(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, ts, tv, o).total)([ss, sv]),
      );
    }
    expectNoLeak(() =>
      vrmLoss({
        student: { real: [[1, 2]], virtual: [[1, 2, 3]] },
        teacher: { real: [[1, 2]], virtual: [[1, 2]] },
      }),
    );
    tf.dispose([ss, sv, ts, tv]);
  });

  it('bad inputs throw RelkdError before any kernel runs', () => {
    const ok = [
      [1, 2, 3],
      [3, 1, 2],
    ];
    const call =
      (s: unknown, sv: unknown, t: unknown, tv: unknown, o: VrmLossOptions = {}) =>
      () =>
        vrmLoss(
          { student: { real: s, virtual: sv }, teacher: { real: t, virtual: tv } } as never,
          o,
        );
    expectRelkdError(call([[1, 2]], ok, ok, ok), 'SHAPE_MISMATCH');
    expectRelkdError(call(ok, [[1, 2, 3]], ok, ok), 'SHAPE_MISMATCH');
    expectRelkdError(
      call(
        ok,
        ok,
        [
          [1, 2],
          [3, 4],
        ],
        ok,
      ),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(
      call(ok, ok, ok, [
        [1, 2, 3, 4],
        [1, 2, 3, 4],
      ]),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(call([1, 2, 3], ok, ok, ok), 'RANK_MISMATCH');
    expectRelkdError(call(ok, ok, ok, [[[1, 2, 3]]]), 'RANK_MISMATCH');
    expectRelkdError(call(tf.tensor2d([[1, 2]], undefined, 'int32'), ok, ok, ok), 'DTYPE_MISMATCH');
    expectRelkdError(call(tf.zeros([0, 3]), ok, ok, ok), 'EMPTY_BATCH');
    for (const uep of [
      { kind: 'jointEntropy', ratio: 0 },
      { kind: 'jointEntropy', ratio: -0.5 },
      { kind: 'jointEntropy', ratio: 1.5 },
      { kind: 'jointEntropy' },
      { kind: 'clip', delta: 0 },
      { kind: 'clip', delta: -1 },
      { kind: 'clip', delta: Number.NaN },
      { kind: 'prune' },
      'none',
    ]) {
      expectRelkdError(call(ok, ok, ok, ok, { uep } as never), 'INVALID_OPTION');
    }
    expectRelkdError(call(ok, ok, ok, ok, { isEdges: 'lower' } as never), 'INVALID_OPTION');
    expectRelkdError(call(ok, ok, ok, ok, { path: 'fast' } as never), 'INVALID_OPTION');
    expectRelkdError(
      call(ok, ok, ok, ok, { path: 'gram', uep: { kind: 'clip', delta: 0.1 } }),
      'INVALID_OPTION',
    );
    expectRelkdError(call(ok, ok, ok, ok, { weights: { is: -1 } }), 'INVALID_OPTION');
    expectRelkdError(call(ok, ok, ok, ok, { zsNorm: 'yes' } as never), 'INVALID_OPTION');
    expectRelkdError(call(ok, ok, ok, ok, { epsilon: -1 }), 'INVALID_OPTION');
    expectRelkdError(
      () => vrmLoss({ student: { real: ok, virtual: ok } } as never),
      'INVALID_OPTION',
    );
    expectRelkdError(call(ok, ok, ok, ok, { gramTolerance: -1 }), 'INVALID_OPTION');
    expectRelkdError(call(ok, ok, ok, ok, null as never), 'INVALID_OPTION');
    // the same checks without tensors, with the caller's option path in the message
    expect(() =>
      validateVrmLossOptions({ uep: { kind: 'jointEntropy', ratio: 0.1 } }),
    ).not.toThrow();
    expectRelkdError(() => validateVrmLossOptions({ weights: { ic: -2 } }), 'INVALID_OPTION');
    expect(() =>
      validateVrmLossOptions({ path: 'gram', uep: { kind: 'clip', delta: 1 } }, 'cfg.loss'),
    ).toThrow(/cfg\.loss\.path/);
  });

  it('property: finite values in [0, 4] and finite gradients for random shapes and extreme values', () => {
    const optionsArb = fc.record({
      zsNorm: fc.boolean(),
      isEdges: fc.constantFrom('cross' as const, 'upper' as const),
      uep: fc.constantFrom<UepOption>(
        { kind: 'none' },
        { kind: 'clip', delta: 0.2 },
        { kind: 'jointEntropy', ratio: 0.5 },
      ),
      path: fc.constantFrom('auto' as const, 'direct' as const),
    });
    const caseArb = fc.record({
      b: fc.integer({ min: 1, max: 4 }),
      c: fc.integer({ min: 1, max: 5 }),
      scale: fc.constantFrom(1e-3, 1, 100, 1e4),
      seed: fc.integer({ min: 0, max: 1e6 }),
      mode: fc.constantFrom('random', 'constantRows', 'duplicateRows', 'sameTeacher'),
      options: optionsArb,
    });
    fc.assert(
      fc.property(caseArb, ({ b, c, scale, seed, mode, options }) => {
        tf.tidy(() => {
          let [ss, sv, ts, tv] = [0, 1, 2, 3].map((k) =>
            tf.clipByValue(rand([b, c], seed + k, scale), -1e4, 1e4),
          ) as T2[];
          if (mode === 'constantRows') {
            ss = tf.fill([b, c], scale) as T2;
            tv = tf.fill([b, c], -scale) as T2;
          } else if (mode === 'duplicateRows') {
            sv = ss!;
            tv = tf.tile(tf.slice(ts!, [0, 0], [1, c]), [b, 1]) as T2;
          } else if (mode === 'sameTeacher') {
            ts = ss!;
            tv = sv!;
          }
          const r = loss(ss!, sv!, ts!, tv!, options);
          for (const part of [r.is, r.ic]) {
            const v = part.dataSync()[0]!;
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThanOrEqual(4 + 1e-5);
          }
          expect(Number.isFinite(r.total.dataSync()[0])).toBe(true);
          const gs = tf.grads((x: tf.Tensor, y: tf.Tensor) => loss(x, y, ts!, tv!, options).total)([
            ss!,
            sv!,
          ]);
          for (const g of gs) expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
        });
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});
