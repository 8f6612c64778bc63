import { Rng } from '@relkd/core';
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
import {
  type CorsdLossOptions,
  type CorsdStageInput,
  corsdLoss,
  resolveCorsdLossOptions,
} from './corsdLoss';
import { gatherPairs } from './gatherPairs';
import { negativePairTargets } from './negativePairTargets';

interface Case {
  name: string;
  K: number;
  B: number;
  C: number;
  options: CorsdLossOptions;
  posLogits: number[][][];
  negLogits: number[][][];
  posScores: number[][];
  negScores: number[][];
  anchorLabels: number[];
  negativeLabels: number[];
  expected: Record<string, number>;
  grad: {
    posLogits: number[][][];
    negLogits: number[][][];
    posScores: number[][];
    negScores: number[][];
  };
}

const fixture = loadFixture<{ cases: Case[] }>(import.meta.url, 'corsdLoss');
const PARTS = ['total', 'kd', 'ce', 'negKd', 'negCe', 'triplet', 'score'] as const;

/** Stage inputs from stacked tensors `[K, B, C]` logits and `[K, B]` scores. */
function stagesOf(up: tf.Tensor, un: tf.Tensor, sp: tf.Tensor, sn: tf.Tensor): CorsdStageInput[] {
  // slices, not tf.unstack: tfjs's Unpack gradient fails when K = 1
  const K = up.shape[0]!;
  const [B, C] = [up.shape[1]!, up.shape[2]!];
  const logit = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0, 0], [1, B, C]), [B, C]);
  const score = (t: tf.Tensor, k: number) => tf.reshape(tf.slice(t, [k, 0], [1, B]), [B, 1]);
  return Array.from({ length: K }, (_, k) => ({
    positive: { logits: logit(up, k), score: score(sp, k) },
    negative: { logits: logit(un, k), score: score(sn, k) },
  }));
}

interface Raw {
  up: tf.Tensor3D;
  un: tf.Tensor3D;
  sp: tf.Tensor2D;
  sn: tf.Tensor2D;
  ya: tf.Tensor1D;
  yn: tf.Tensor1D;
}

function randomRaw(seed: number, K: number, B: number, C: number, scale = 2): Raw {
  const rng = new Rng(seed);
  const normal = (n: number): number[] => Array.from({ length: n }, () => rng.normal() * scale);
  const unit = (n: number): number[] =>
    Array.from({ length: n }, () => 1 / (1 + Math.exp(-rng.normal())));
  const ya = Array.from({ length: B }, () => rng.int(C));
  const yn = ya.map((y) => (y + 1 + rng.int(C - 1)) % C);
  return {
    up: tf.tensor3d(normal(K * B * C), [K, B, C]),
    un: tf.tensor3d(normal(K * B * C), [K, B, C]),
    sp: tf.tensor2d(unit(K * B), [K, B]),
    sn: tf.tensor2d(unit(K * B), [K, B]),
    ya: tf.tensor1d(ya, 'int32'),
    yn: tf.tensor1d(yn, 'int32'),
  };
}

function lossOf(r: Raw, options: CorsdLossOptions = {}) {
  return corsdLoss(
    { stages: stagesOf(r.up, r.un, r.sp, r.sn), anchorLabels: r.ya, negativeLabels: r.yn },
    options,
  );
}

function totalFn(r: Raw, options: CorsdLossOptions = {}, part: (typeof PARTS)[number] = 'total') {
  return (up: tf.Tensor, un: tf.Tensor, sp: tf.Tensor, sn: tf.Tensor): tf.Scalar =>
    corsdLoss(
      { stages: stagesOf(up, un, sp, sn), anchorLabels: r.ya, negativeLabels: r.yn },
      options,
    )[part];
}

/** Counts the kernels `fn` dispatches (patches `engine.runKernel`, restores it after). */
function countKernels(fn: () => unknown): number {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const proto = Object.getPrototypeOf(engine) as typeof engine;
  if (Object.hasOwn(engine, 'runKernel')) throw new Error('engine.runKernel is already patched');
  let n = 0;
  engine.runKernel = (...args: unknown[]) => {
    n++;
    return proto.runKernel.apply(engine, args);
  };
  try {
    tf.dispose(fn() as tf.TensorContainer);
  } finally {
    delete (engine as Partial<typeof engine>).runKernel;
  }
  return n;
}

type Fn4 = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.Scalar;
function withZeroPath(f: Fn4): Fn4 {
  return (a, b, c, d) =>
    tf.add(f(a, b, c, d), tf.mul(0, tf.addN([a, b, c, d].map((t) => tf.sum(t)))));
}

describe.each(BACKENDS)('corsdLoss on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe('golden values vs the float64 reference', () => {
    it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
      tf.tidy(() => {
        const up = tf.tensor3d(c.posLogits);
        const un = tf.tensor3d(c.negLogits);
        const sp = tf.tensor2d(c.posScores);
        const sn = tf.tensor2d(c.negScores);
        const r: Raw = {
          up,
          un,
          sp,
          sn,
          ya: tf.tensor1d(c.anchorLabels, 'int32'),
          yn: tf.tensor1d(c.negativeLabels, 'int32'),
        };
        const out = lossOf(r, c.options);
        for (const p of PARTS) expectClose(out[p], c.expected[p]!, { label: p });
        const f = totalFn(r, c.options);
        const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([up, un, sp, sn]);
        expectClose(g[0]!, c.grad.posLogits, { rtol: 1e-3, atol: 1e-6, label: 'd/d posLogits' });
        expectClose(g[1]!, c.grad.negLogits, { rtol: 1e-3, atol: 1e-6, label: 'd/d negLogits' });
        expectClose(g[2]!, c.grad.posScores, { rtol: 1e-3, atol: 1e-6, label: 'd/d posScores' });
        expectClose(g[3]!, c.grad.negScores, { rtol: 1e-3, atol: 1e-6, label: 'd/d negScores' });
      });
    });

    it('accepts JS arrays for every input', () => {
      const c = fixture.cases[0]!;
      const stages = c.posLogits.map((_, k) => ({
        positive: { logits: c.posLogits[k]!, score: c.posScores[k]!.map((v) => [v]) },
        negative: { logits: c.negLogits[k]!, score: c.negScores[k]!.map((v) => [v]) },
      }));
      const out = corsdLoss({
        stages,
        anchorLabels: c.anchorLabels,
        negativeLabels: c.negativeLabels,
      });
      expectClose(out.total, c.expected['total']!);
      tf.dispose(out);
    });
  });

  it('finite differences agree with autodiff (all inputs, random direction)', () => {
    tf.tidy(() => {
      const r = randomRaw(11, 3, 4, 5);
      for (const detachDeepest of [true, false]) {
        const opts = { detachDeepest, scoreWeight: 0.5, tripletWeight: 0.2 };
        const f = totalFn(r, opts);
        const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([r.up, r.un, r.sp, r.sn]);
        const inputs = [r.up, r.un, r.sp, r.sn];
        inputs.forEach((x, i) => {
          // with detachDeepest the deepest stage also acts as a constant target, which central
          // differences cannot hold fixed: perturb only the shallow stages then
          const mask = detachDeepest
            ? tf.concat([tf.ones([2, ...x.shape.slice(1)]), tf.zeros([1, ...x.shape.slice(1)])])
            : 1;
          const v = tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', 5 + i), mask);
          const single = (y: tf.Tensor): tf.Scalar => {
            const args = inputs.map((t, j) => (j === i ? y : t)) as [
              tf.Tensor,
              tf.Tensor,
              tf.Tensor,
              tf.Tensor,
            ];
            return f(...args);
          };
          const fd = fdDirectional(single, x, v, 1e-2);
          const ad = tf.sum(tf.mul(g[i]!, v)).dataSync()[0]!;
          expect(Math.abs(fd - ad)).toBeLessThan(2e-3 * Math.max(1, Math.abs(ad)));
        });
      }
    });
  });

  it('the number of kernels does not grow with B or C (values and gradients)', () => {
    const count = (b: number, c: number, grad: boolean): number =>
      tf.tidy(() => {
        const r = randomRaw(20, 3, b, c);
        const f = totalFn(r);
        return countKernels(() =>
          grad
            ? tf.grads((a, bb, s, t) => f(a!, bb!, s!, t!))([r.up, r.un, r.sp, r.sn])
            : lossOf(r),
        );
      });
    for (const grad of [false, true]) {
      const base = count(2, 3, grad);
      expect(base).toBeGreaterThan(10);
      expect(count(7, 3, grad)).toBe(base);
      expect(count(2, 9, grad)).toBe(base);
    }
  });

  it('gatherPairs dispatches a fixed number of kernels (no JS loop over rows)', () => {
    const count = (n: number): number =>
      tf.tidy(() => {
        const f = tf.randomNormal([n, 2, 2, 3]) as tf.Tensor4D;
        const idx = tf.range(0, n, 1, 'int32') as tf.Tensor1D;
        return countKernels(() => gatherPairs(f, { anchor: idx, positive: idx, negative: idx }));
      });
    expect(count(3)).toBe(count(8));
  });

  describe('spec properties', () => {
    it('with margin >= 1 the triplet term is tripletWeight·Σ_k(mean s⁺ − mean s⁻ + margin), gradient ±tripletWeight/B', () => {
      tf.tidy(() => {
        const r = randomRaw(3, 3, 5, 4);
        for (const margin of [1, 1.5]) {
          const out = lossOf(r, { margin });
          const expected = tf.add(tf.sum(tf.sub(tf.mean(r.sp, 1), tf.mean(r.sn, 1))), 3 * margin);
          expectClose(out.triplet, expected, { rtol: 1e-6 });
          const only = {
            margin,
            tripletWeight: 0.01,
            kdWeight: 0,
            ceWeight: 0,
            negKdWeight: 0,
            negCeWeight: 0,
            scoreWeight: 0,
          };
          const f = totalFn(r, only);
          const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([r.up, r.un, r.sp, r.sn]);
          expectClose(g[2]!, tf.fill([3, 5], 0.01 / 5), { rtol: 1e-6, atol: 0 });
          expectClose(g[3]!, tf.fill([3, 5], -0.01 / 5), { rtol: 1e-6, atol: 0 });
        }
      });
    });

    it("the deepest stage's own D terms are exactly 0 with zero gradient", () => {
      tf.tidy(() => {
        // K = 1: the only stage is the deepest; kd, negKd and score are exactly 0
        const r1 = randomRaw(4, 1, 4, 5);
        const out1 = lossOf(r1);
        expect(out1.kd.dataSync()[0]).toBe(0);
        expect(out1.negKd.dataSync()[0]).toBe(0);
        expect(out1.score.dataSync()[0]).toBe(0);
        // K = 3 with detach: the mimic parts send exactly zero gradient to the deepest logits/scores
        const r = randomRaw(5, 3, 4, 5);
        for (const part of ['kd', 'negKd', 'score'] as const) {
          // + 0·Σ inputs so every input has a gradient path (tf.grads requires one)
          const f = withZeroPath(totalFn(r, {}, part));
          const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([r.up, r.un, r.sp, r.sn]);
          const last = (t: tf.Tensor) => tf.slice(t, [2], [1]);
          for (const gi of g)
            expect(Array.from(last(gi).dataSync()).every((v) => v === 0)).toBe(true);
          // ...but some gradient reaches the shallow stages
          const shallowMass = g.map((gi) => tf.sum(tf.abs(tf.slice(gi, [0], [2]))).dataSync()[0]!);
          expect(Math.max(...shallowMass)).toBeGreaterThan(0);
        }
      });
    });

    it('without detachDeepest the mimic terms do reach the deepest stage', () => {
      tf.tidy(() => {
        const r = randomRaw(6, 3, 4, 5);
        const f = withZeroPath(totalFn(r, { detachDeepest: false }, 'kd'));
        const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([r.up, r.un, r.sp, r.sn]);
        expect(tf.sum(tf.abs(tf.slice(g[0]!, [2], [1]))).dataSync()[0]).toBeGreaterThan(1e-4);
      });
    });

    it('equal stage outputs give zero D and score terms', () => {
      tf.tidy(() => {
        const r = randomRaw(7, 1, 4, 6);
        const tile = (t: tf.Tensor) => tf.tile(t, t.rank === 3 ? [3, 1, 1] : [3, 1]);
        const eq: Raw = {
          ...r,
          up: tile(r.up) as tf.Tensor3D,
          un: tile(r.un) as tf.Tensor3D,
          sp: tile(r.sp) as tf.Tensor2D,
          sn: tile(r.sn) as tf.Tensor2D,
        };
        for (const detachDeepest of [true, false]) {
          const out = lossOf(eq, { detachDeepest });
          expectClose(out.kd, 0, { atol: 1e-6 });
          expectClose(out.negKd, 0, { atol: 1e-6 });
          expect(out.score.dataSync()[0]).toBe(0);
          const f = totalFn(eq, { detachDeepest }, 'kd');
          const g = tf.grad((a: tf.Tensor) => f(a, eq.un, eq.sp, eq.sn))(eq.up);
          expectClose(g, tf.zerosLike(g), { atol: 1e-7 });
        }
      });
    });

    it('D is invariant to a per-row shift of any stage logits', () => {
      tf.tidy(() => {
        const r = randomRaw(8, 3, 4, 5);
        const shift = tf.tensor3d([-7, 3, 100, 0.5, 2, -1, 0, 9, 4, 4, 4, -50], [3, 4, 1]);
        const base = lossOf(r);
        const shifted = lossOf({
          ...r,
          up: tf.add(r.up, shift) as tf.Tensor3D,
          un: tf.sub(r.un, shift) as tf.Tensor3D,
        });
        expectClose(shifted.kd, base.kd, { rtol: 1e-4, atol: 1e-5 });
        expectClose(shifted.negKd, base.negKd, { rtol: 1e-4, atol: 1e-5 });
        expectClose(shifted.negCe, base.negCe, { rtol: 1e-4, atol: 1e-5 });
      });
    });

    it('permuting whole triplets leaves every part unchanged', () => {
      tf.tidy(() => {
        const r = randomRaw(9, 3, 6, 4);
        const perm = tf.tensor1d([3, 0, 5, 1, 4, 2], 'int32');
        const p: Raw = {
          up: tf.gather(r.up, perm, 1),
          un: tf.gather(r.un, perm, 1),
          sp: tf.gather(r.sp, perm, 1),
          sn: tf.gather(r.sn, perm, 1),
          ya: tf.gather(r.ya, perm),
          yn: tf.gather(r.yn, perm),
        };
        const a = lossOf(r, { margin: 0.2 });
        const b = lossOf(p, { margin: 0.2 });
        for (const part of PARTS) expectClose(b[part], a[part], { rtol: 1e-5, label: part });
      });
    });

    it('tSquared multiplies kd and negKd (and their gradients) by T², nothing else', () => {
      tf.tidy(() => {
        const r = randomRaw(21, 3, 4, 5);
        for (const temperature of [3, 2]) {
          const plain = lossOf(r, { temperature });
          const sq = lossOf(r, { temperature, tSquared: true });
          const t2 = temperature * temperature;
          expectClose(sq.kd, plain.kd.dataSync()[0]! * t2, { rtol: 1e-5 });
          expectClose(sq.negKd, plain.negKd.dataSync()[0]! * t2, { rtol: 1e-5 });
          for (const p of ['ce', 'negCe', 'triplet', 'score'] as const)
            expectClose(sq[p], plain[p].dataSync()[0]!, { rtol: 1e-6, label: p });
          const g = (o: CorsdLossOptions) =>
            tf.grad(
              (u: tf.Tensor) =>
                corsdLoss(
                  {
                    stages: stagesOf(u, r.un, r.sp, r.sn),
                    anchorLabels: r.ya,
                    negativeLabels: r.yn,
                  },
                  o,
                ).kd,
            )(r.up);
          expectClose(
            g({ temperature, tSquared: true }),
            tf.mul(g({ temperature }), t2).arraySync() as number[][][],
            {
              rtol: 1e-4,
              atol: 1e-7,
            },
          );
        }
        // K = 1: the D terms stay exactly 0
        const one = lossOf(randomRaw(22, 1, 3, 4), { tSquared: true });
        expect(one.kd.dataSync()[0]).toBe(0);
        expect(one.negKd.dataSync()[0]).toBe(0);
      });
    });

    it('resolveCorsdLossOptions fills the spec defaults and rejects bad or (strict) unknown keys', () => {
      expect(resolveCorsdLossOptions()).toEqual({
        temperature: 3,
        kdWeight: 0.16,
        ceWeight: 0.04,
        negKdWeight: 0.04,
        negCeWeight: 0.01,
        tripletWeight: 0.01,
        margin: 1,
        scoreWeight: 0.01,
        detachDeepest: true,
        tSquared: false,
        validate: 'shapes',
      });
      expect(resolveCorsdLossOptions({ tSquared: true, kdWeight: 1 }).kdWeight).toBe(1);
      expect(resolveCorsdLossOptions({ kdWieght: 1 } as never).kdWeight).toBe(0.16);
      expectRelkdError(
        () => resolveCorsdLossOptions({ kdWieght: 1 } as never, true),
        'INVALID_OPTION',
      );
      expectRelkdError(() => resolveCorsdLossOptions({ tSquared: 1 as never }), 'INVALID_OPTION');
      expectRelkdError(() => resolveCorsdLossOptions(null as never), 'INVALID_OPTION');
    });

    it('total is the weighted sum of the unweighted parts (defaults from the spec)', () => {
      tf.tidy(() => {
        const out = lossOf(randomRaw(10, 3, 4, 5));
        const w = { kd: 0.16, ce: 0.04, negKd: 0.04, negCe: 0.01, triplet: 0.01, score: 0.01 };
        const sum = Object.entries(w).reduce(
          (acc, [k, v]) => acc + v * out[k as keyof typeof w].dataSync()[0]!,
          0,
        );
        expectClose(out.total, sum, { rtol: 1e-6 });
      });
    });
  });

  describe('negativePairTargets', () => {
    it('rows sum to 1 with two entries of 0.5', () => {
      const q = negativePairTargets([0, 2, 4, 1], [3, 0, 1, 2], 5);
      expectClose(tf.sum(q, 1), [1, 1, 1, 1]);
      const rows = q.arraySync();
      for (const row of rows) {
        expect(row.filter((v) => v === 0.5)).toHaveLength(2);
        expect(row.filter((v) => v === 0)).toHaveLength(3);
      }
      expect(rows[0]).toEqual([0.5, 0, 0, 0.5, 0]);
      q.dispose();
    });
    it('validates labels', () => {
      expectRelkdError(() => negativePairTargets([0, 5], [1, 0], 5), 'LABEL_OUT_OF_RANGE');
      expectRelkdError(() => negativePairTargets([0, 1], [1], 5), 'SHAPE_MISMATCH');
      expectRelkdError(() => negativePairTargets([0, 1], [1, 0], 0), 'INVALID_OPTION');
    });
  });

  describe('leaks', () => {
    it('a call leaks nothing, also with gradients and when throwing', () => {
      const r = randomRaw(12, 3, 4, 5);
      const stages = stagesOf(r.up, r.un, r.sp, r.sn);
      const short = tf.tensor1d([0, 1, 2], 'int32');
      const inputs = { stages, anchorLabels: r.ya, negativeLabels: r.yn };
      expectNoLeak(() => corsdLoss(inputs));
      expectNoLeak(() => corsdLoss(inputs, { detachDeepest: false }));
      expectNoLeak(() =>
        corsdLoss({ ...inputs, anchorLabels: [0, 1, 2, 3], negativeLabels: [1, 2, 3, 4] }),
      );
      expectNoLeak(() =>
        tf.grads(
          (a, b) =>
            corsdLoss({
              ...inputs,
              stages: [{ ...stages[0]!, positive: { logits: a!, score: b! } }, ...stages.slice(1)],
            }).total,
        )([stages[0]!.positive.logits as tf.Tensor, stages[0]!.positive.score as tf.Tensor]),
      );
      expectRelkdError(() => corsdLoss({ ...inputs, anchorLabels: short }), 'SHAPE_MISMATCH');
      tf.dispose([
        r as unknown as tf.TensorContainer,
        stages as unknown as tf.TensorContainer,
        short,
      ]);
    });
  });

  describe('bad inputs', () => {
    const r = () => randomRaw(13, 2, 3, 4);
    const stages = (x: Raw) => stagesOf(x.up, x.un, x.sp, x.sn);
    it('options', () => {
      tf.tidy(() => {
        const x = r();
        const st = stages(x);
        const call = (o: CorsdLossOptions) => () =>
          corsdLoss({ stages: st, anchorLabels: x.ya, negativeLabels: x.yn }, o);
        expectRelkdError(call({ temperature: 0 }), 'INVALID_OPTION');
        expectRelkdError(call({ margin: -1 }), 'INVALID_OPTION');
        expectRelkdError(call({ kdWeight: Number.NaN }), 'INVALID_OPTION');
        expectRelkdError(call({ scoreWeight: Number.POSITIVE_INFINITY }), 'INVALID_OPTION');
        expectRelkdError(call({ detachDeepest: 'yes' as unknown as boolean }), 'INVALID_OPTION');
        expectRelkdError(call({ tSquared: 'yes' as unknown as boolean }), 'INVALID_OPTION');
        expectRelkdError(call({ validate: 'all' as unknown as 'full' }), 'INVALID_OPTION');
      });
    });
    it('structure and shapes', () => {
      tf.tidy(() => {
        const x = r();
        const st = stages(x);
        const base = { anchorLabels: x.ya, negativeLabels: x.yn };
        expectRelkdError(() => corsdLoss({ ...base, stages: [] }), 'INVALID_OPTION');
        expectRelkdError(() => corsdLoss(null as never), 'INVALID_OPTION');
        expectRelkdError(
          () => corsdLoss({ ...base, stages: [st[0]!, {} as CorsdStageInput] }),
          'INVALID_OPTION',
        );
        const wrongC = { ...st[1]!, negative: { ...st[1]!.negative, logits: tf.zeros([3, 5]) } };
        expectRelkdError(() => corsdLoss({ ...base, stages: [st[0]!, wrongC] }), 'SHAPE_MISMATCH');
        const wrongB = { ...st[1]!, positive: { ...st[1]!.positive, logits: tf.zeros([2, 4]) } };
        expectRelkdError(() => corsdLoss({ ...base, stages: [st[0]!, wrongB] }), 'SHAPE_MISMATCH');
        const flatScore = { ...st[1]!, positive: { ...st[1]!.positive, score: tf.zeros([3]) } };
        expectRelkdError(
          () => corsdLoss({ ...base, stages: [st[0]!, flatScore] }),
          'RANK_MISMATCH',
        );
        const rank3 = { ...st[0]!, positive: { ...st[0]!.positive, logits: tf.zeros([3, 4, 1]) } };
        expectRelkdError(() => corsdLoss({ ...base, stages: [rank3] }), 'RANK_MISMATCH');
        const empty = {
          positive: { logits: tf.zeros([0, 4]), score: tf.zeros([0, 1]) },
          negative: { logits: tf.zeros([0, 4]), score: tf.zeros([0, 1]) },
        };
        expectRelkdError(() => corsdLoss({ ...base, stages: [empty] }), 'EMPTY_BATCH');
        const intLogits = {
          ...st[0]!,
          positive: { ...st[0]!.positive, logits: tf.zeros([3, 4], 'int32') },
        };
        expectRelkdError(() => corsdLoss({ ...base, stages: [intLogits] }), 'DTYPE_MISMATCH');
      });
    });
    it('labels', () => {
      tf.tidy(() => {
        const x = r();
        const st = stages(x);
        expectRelkdError(
          () => corsdLoss({ stages: st, anchorLabels: [0, 1], negativeLabels: x.yn }),
          'SHAPE_MISMATCH',
        );
        expectRelkdError(
          () => corsdLoss({ stages: st, anchorLabels: [0, 1, 4], negativeLabels: x.yn }),
          'LABEL_OUT_OF_RANGE',
        );
        const floatLabels = tf.tensor1d([0, 1, 2]);
        expectRelkdError(
          () => corsdLoss({ stages: st, anchorLabels: x.ya, negativeLabels: floatLabels }),
          'DTYPE_MISMATCH',
        );
        const outOfRange = tf.tensor1d([0, 9, 2], 'int32');
        expectRelkdError(
          () =>
            corsdLoss(
              { stages: st, anchorLabels: x.ya, negativeLabels: outOfRange },
              { validate: 'full' },
            ),
          'LABEL_OUT_OF_RANGE',
        );
        const nan = {
          ...st[0]!,
          negative: { ...st[0]!.negative, score: tf.fill([3, 1], Number.NaN) },
        };
        expectRelkdError(
          () =>
            corsdLoss(
              { stages: [nan, st[1]!], anchorLabels: x.ya, negativeLabels: x.yn },
              { validate: 'full' },
            ),
          'NON_FINITE',
        );
      });
    });
  });

  describe('property-based', () => {
    const extreme = fc.oneof(
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      fc.constantFrom(0, 1e4, -1e4, 1e-30),
    );
    it('finite values and gradients for random shapes and extreme logits', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 2, max: 5 }),
          fc.integer({ min: 0, max: 1e6 }),
          fc.constantFrom('random', 'constant', 'duplicate'),
          fc.boolean(),
          extreme,
          (K, B, C, seed, kind, detachDeepest, big) => {
            tf.tidy(() => {
              const rng = new Rng(seed);
              const n = K * B * C;
              const gen = (): number[] => {
                if (kind === 'constant') return Array.from({ length: n }, () => big);
                const row = Array.from({ length: C }, () =>
                  rng.next() < 0.3 ? big : (rng.next() * 2 - 1) * Math.abs(big),
                );
                if (kind === 'duplicate') return Array.from({ length: K * B }, () => row).flat();
                return Array.from({ length: n }, () =>
                  rng.next() < 0.3 ? big : (rng.next() * 2 - 1) * 1e4,
                );
              };
              const up = tf.tensor3d(gen(), [K, B, C]);
              const un = tf.tensor3d(gen(), [K, B, C]);
              const sp = tf.tensor2d(
                Array.from({ length: K * B }, () => (rng.next() < 0.2 ? 1 : rng.next())),
                [K, B],
              );
              const sn = tf.tensor2d(
                Array.from({ length: K * B }, () => (rng.next() < 0.2 ? 0 : rng.next())),
                [K, B],
              );
              const ya = Array.from({ length: B }, () => rng.int(C));
              const yn = ya.map((y) => (y + 1 + rng.int(C - 1)) % C);
              const r: Raw = {
                up,
                un,
                sp,
                sn,
                ya: tf.tensor1d(ya, 'int32'),
                yn: tf.tensor1d(yn, 'int32'),
              };
              const out = lossOf(r, { detachDeepest });
              for (const p of PARTS) expect(Number.isFinite(out[p].dataSync()[0]), p).toBe(true);
              const f = totalFn(r, { detachDeepest });
              const g = tf.grads((a, b, s, t) => f(a!, b!, s!, t!))([up, un, sp, sn]);
              for (const gi of g)
                expect(Array.from(gi.dataSync()).every(Number.isFinite)).toBe(true);
            });
          },
        ),
        { numRuns: 40, seed: 20230501 },
      );
    });
  });
});
