import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  loadFixture,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRelationNetworks } from './buildRelationNetworks';
import { corsdLoss } from './corsdLoss';
import { gatherPairs } from './gatherPairs';
import { RelationNetwork } from './RelationNetwork';
import { relationStages } from './relationStages';
import { tripletIndices } from './tripletIndices';

const tiny = () =>
  new RelationNetwork({
    inChannels: 2,
    numBlocks: 1,
    embeddingWidth: 4,
    hiddenUnits: 3,
    numClasses: 3,
    seed: 5,
  });

interface NetworkCase {
  name: string;
  options: {
    inChannels: number;
    numBlocks: number;
    embeddingWidth: number;
    hiddenUnits: number;
    numClasses: number;
  };
  x: number[][][][];
  weights: Record<string, number[] | number[][] | number[][][][]>;
  ws: number[][];
  wl: number[][];
  train: { score: number[][]; logits: number[][] };
  running: Record<string, number[]>;
  infer: { score: number[][]; logits: number[][] };
  gradX: number[][][][];
}
const networkFixture = loadFixture<{ cases: NetworkCase[] }>(import.meta.url, 'relationNetwork');

/** Assigns the fixture's weights by module path. */
function loadCase(net: RelationNetwork, c: NetworkCase): void {
  const named = net.namedVariables();
  expect(named.map((v) => v.path).sort()).toEqual(Object.keys(c.weights).sort());
  tf.tidy(() => {
    for (const v of named) v.variable.assign(tf.tensor(c.weights[v.path]!, v.variable.shape));
  });
}

const UNIT_WEIGHTS = {
  kdWeight: 1,
  ceWeight: 1,
  negKdWeight: 1,
  negCeWeight: 1,
  tripletWeight: 1,
  scoreWeight: 1,
};

/** Σ_i ⟨w_i, v_i⟩ over a list of tensors. */
function dot(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): number {
  return tf.tidy(() => tf.addN(a.map((t, i) => tf.sum(tf.mul(t, b[i]!)))).dataSync()[0]!);
}

describe.each(BACKENDS)('relation networks on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  describe('architecture', () => {
    it('buildRelationNetworks mirrors the released RN1–RN4 for a width-doubling 4-stage backbone', () => {
      const c = 4;
      const nets = buildRelationNetworks({
        stageShapes: [
          [8, 8, c],
          [4, 4, 2 * c],
          [2, 2, 4 * c],
          [1, 1, 8 * c],
        ],
        numClasses: 5,
        seed: 1,
      });
      expect(nets.map((n) => n.inChannels)).toEqual([2 * c, 4 * c, 8 * c, 16 * c]);
      expect(nets.map((n) => n.blockWidths)).toEqual([
        [4 * c, 8 * c, 16 * c],
        [8 * c, 16 * c],
        [16 * c],
        [],
      ]);
      expect(nets.map((n) => n.embeddingWidth)).toEqual([16 * c, 16 * c, 16 * c, 16 * c]);
      expect(nets.map((n) => n.hiddenUnits)).toEqual([2 * c, 2 * c, 2 * c, 4 * c]);
      // the deepest has no trunk at all (2·C_K = 16c): only the heads
      expect(nets[3]!.namedVariables().map((v) => v.path)).toEqual([
        'score/0/kernel',
        'score/0/bias',
        'score/1/gamma',
        'score/1/beta',
        'score/1/movingMean',
        'score/1/movingVariance',
        'score/3/kernel',
        'score/3/bias',
        'classifier/kernel',
        'classifier/bias',
      ]);
      const shapes = Object.fromEntries(
        nets[1]!.namedVariables().map((v) => [v.path, v.variable.shape]),
      );
      expect(shapes['trunk/0/dw1/kernel']).toEqual([3, 3, 4 * c, 1]);
      expect(shapes['trunk/0/pw2/kernel']).toEqual([1, 1, 4 * c, 8 * c]);
      expect(shapes['trunk/1/pw2/kernel']).toEqual([1, 1, 8 * c, 16 * c]);
      expect(shapes['score/0/kernel']).toEqual([16 * c, 2 * c]);
      expect(shapes['classifier/kernel']).toEqual([16 * c, 5]);
      // pair inputs of every stage give [B, 1] scores in (0, 1) and [B, C] logits
      tf.tidy(() => {
        nets.forEach((net, k) => {
          const s = 8 >> k;
          const out = net.apply(tf.randomNormal([3, s, s, net.inChannels], 0, 1, 'float32', k), {
            training: true,
          });
          expect(out.score.shape).toEqual([3, 1]);
          expect(out.logits.shape).toEqual([3, 5]);
          const sc = Array.from(out.score.dataSync());
          expect(sc.every((v) => v > 0 && v < 1)).toBe(true);
        });
      });
      for (const n of nets) n.dispose();
    });

    it('the deepest network pools its pair as is (the paper); deepestProjection restores the 1×1 projection', () => {
      const shapes = [
        [6, 6, 2],
        [3, 3, 3],
      ];
      const nets = buildRelationNetworks({ stageShapes: shapes, numClasses: 4, seed: 2 });
      expect(nets[0]!.blockWidths).toEqual([32]);
      expect(nets[0]!.embeddingWidth).toBe(32);
      // no trunk variables: GAP of the 6-wide pair, then the heads on e [B, 6]
      expect(nets[1]!.embeddingWidth).toBe(6);
      expect(nets[1]!.namedVariables().some((v) => v.path.startsWith('trunk'))).toBe(false);
      expect(nets[1]!.namedVariables()[0]!.path).toBe('score/0/kernel');
      expect(nets[1]!.namedVariables()[0]!.variable.shape).toEqual([6, 4 * 2]);
      expect(
        nets[1]!.namedVariables().find((v) => v.path === 'classifier/kernel')!.variable.shape,
      ).toEqual([6, 4]);
      tf.tidy(() => {
        // the pooled pair is the embedding: two pairs with equal channel means give equal outputs
        const a = tf.randomNormal([1, 3, 3, 6], 0, 1, 'float32', 1);
        const m = tf.mean(a, [1, 2], true);
        const flat = tf.concat([a, tf.add(tf.zeros([1, 3, 3, 6]), m)]);
        const out = nets[1]!.apply(flat);
        expect(out.logits.shape).toEqual([2, 4]);
        const [l0, l1] = tf.split(out.logits, 2) as [tf.Tensor, tf.Tensor];
        expectClose(l0, l1.arraySync() as number[][], { rtol: 1e-5, atol: 1e-5 });
      });
      for (const n of nets) n.dispose();
      const projected = buildRelationNetworks({
        stageShapes: shapes,
        numClasses: 4,
        seed: 2,
        deepestProjection: true,
      });
      expect(projected[1]!.embeddingWidth).toBe(32);
      expect(projected[1]!.namedVariables()[0]!.path).toBe('trunk/0/kernel');
      expect(projected[1]!.namedVariables()[0]!.variable.shape).toEqual([1, 1, 6, 32]);
      tf.tidy(() => {
        const out = projected[1]!.apply(tf.ones([2, 3, 3, 6]));
        expect(out.logits.shape).toEqual([2, 4]);
      });
      for (const n of projected) n.dispose();
      const custom = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        embeddingWidth: 8,
        hiddenUnits: [5, 6],
      });
      expect(custom.map((n) => [n.embeddingWidth, n.hiddenUnits])).toEqual([
        [8, 5],
        [8, 6],
      ]);
      for (const n of custom) n.dispose();
    });

    it('is deterministic for a seed', () => {
      const a = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 9,
      });
      const b = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 9,
      });
      const c = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 10,
      });
      tf.tidy(() => {
        a.forEach((net, k) => {
          const wa = net.getWeights();
          const wb = b[k]!.getWeights();
          const wc = c[k]!.getWeights();
          wa.forEach((w, i) => {
            expectClose(w, wb[i]!, { rtol: 0, atol: 0 });
          });
          expect(wa.some((w, i) => tf.any(tf.notEqual(w, wc[i]!)).dataSync()[0] === 1)).toBe(true);
        });
      });
      for (const n of [...a, ...b, ...c]) n.dispose();
    });
  });

  describe('golden values vs the float64 reference (= the released RN2 / RN4 in PyTorch)', () => {
    it.each(networkFixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
      const net = new RelationNetwork({ ...c.options, seed: 1 });
      loadCase(net, c);
      tf.tidy(() => {
        const x = tf.tensor4d(c.x);
        const train = net.apply(x, { training: true });
        expectClose(train.score, c.train.score, { rtol: 1e-5, atol: 1e-6, label: 'train score' });
        expectClose(train.logits, c.train.logits, {
          rtol: 1e-5,
          atol: 1e-5,
          label: 'train logits',
        });
        const vars = Object.fromEntries(net.namedVariables().map((v) => [v.path, v.variable]));
        for (const [path, values] of Object.entries(c.running)) {
          expectClose(vars[path]!, values, { rtol: 1e-5, atol: 1e-6, label: path });
        }
        const infer = net.apply(x);
        expectClose(infer.score, c.infer.score, {
          rtol: 1e-5,
          atol: 1e-6,
          label: 'inference score',
        });
        expectClose(infer.logits, c.infer.logits, {
          rtol: 1e-5,
          atol: 1e-5,
          label: 'inference logits',
        });
      });
      loadCase(net, c);
      tf.tidy(() => {
        const ws = tf.tensor2d(c.ws);
        const wl = tf.tensor2d(c.wl);
        const g = tf.grad((x: tf.Tensor) => {
          const o = net.apply(x, { training: true });
          return tf.add(tf.sum(tf.mul(o.score, ws)), tf.sum(tf.mul(o.logits, wl))) as tf.Scalar;
        })(tf.tensor4d(c.x));
        expectClose(g, c.gradX, { rtol: 1e-3, atol: 1e-5, label: 'd/dx' });
      });
      net.dispose();
    });
  });

  describe('training', () => {
    it('finite differences agree with autodiff w.r.t. every trainable variable (tiny network)', () => {
      const net = tiny();
      tf.tidy(() => {
        const x = tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 11);
        const ws = tf.randomNormal([4, 1], 0, 1, 'float32', 12);
        const wl = tf.randomNormal([4, 3], 0, 1, 'float32', 13);
        const f = (): tf.Scalar => {
          const out = net.apply(x, { training: true });
          return tf.add(tf.sum(tf.mul(out.score, ws)), tf.sum(tf.mul(out.logits, wl))) as tf.Scalar;
        };
        const vars = net.trainableVariables;
        const { grads } = tf.variableGrads(f, vars);
        const g = vars.map((v) => grads[v.name]!);
        const dirs = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', 100 + i));
        const base = vars.map((v) => v.clone());
        const evalAt = (eps: number): number => {
          vars.forEach((v, i) => {
            v.assign(tf.add(base[i]!, tf.mul(dirs[i]!, eps)));
          });
          return f().dataSync()[0]!;
        };
        const eps = 1e-3;
        const fd = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
        vars.forEach((v, i) => {
          v.assign(base[i]!);
        });
        const ad = dot(g, dirs);
        expect(Math.abs(fd - ad)).toBeLessThan(2e-2 * Math.max(1, Math.abs(ad)));
      });
      net.dispose();
    });

    it('finite differences agree end to end w.r.t. the backbone features (gatherPairs -> networks -> corsdLoss)', () => {
      const nets = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 3],
        ],
        numClasses: 3,
        seed: 3,
      });
      tf.tidy(() => {
        const labels = [0, 1, 2, 0, 1, 2];
        const t = tripletIndices(labels, { seed: 1 });
        const f1 = tf.randomNormal([6, 4, 4, 2], 0, 1, 'float32', 1);
        const f2 = tf.randomNormal([6, 2, 2, 3], 0, 1, 'float32', 2);
        // detachDeepest false so central differences see the same function as autodiff
        const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
          corsdLoss(
            {
              stages: relationStages(nets, [a, b], t, { training: true }),
              anchorLabels: labels,
              negativeLabels: t.negativeLabels,
            },
            { ...UNIT_WEIGHTS, detachDeepest: false, margin: 2 },
          ).total;
        const [g1, g2] = tf.grads((a, b) => loss(a!, b!))([f1, f2]);
        const v1 = tf.randomNormal(f1.shape, 0, 1, 'float32', 7);
        const v2 = tf.randomNormal(f2.shape, 0, 1, 'float32', 8);
        const ad = dot([g1!, g2!], [v1, v2]);
        // small step: the ReLUs of the trunks have kinks within ~3e-3 of this point along v
        const eps = 1e-3;
        const fd =
          (loss(tf.add(f1, tf.mul(v1, eps)), tf.add(f2, tf.mul(v2, eps))).dataSync()[0]! -
            loss(tf.sub(f1, tf.mul(v1, eps)), tf.sub(f2, tf.mul(v2, eps))).dataSync()[0]!) /
          (2 * eps);
        expect(Math.abs(ad)).toBeGreaterThan(1e-4);
        expect(Math.abs(fd - ad)).toBeLessThan(1e-2 * Math.abs(ad));
      });
      for (const n of nets) n.dispose();
    });

    it('with detachDeepest the mimic terms send no gradient to the deepest relation network', () => {
      const nets = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
          [1, 1, 8],
        ],
        numClasses: 3,
        seed: 6,
      });
      tf.tidy(() => {
        const labels = [0, 1, 2, 0, 1, 2];
        const t = tripletIndices(labels, { seed: 3 });
        const feats = [
          tf.randomNormal([6, 4, 4, 2], 0, 1, 'float32', 1),
          tf.randomNormal([6, 2, 2, 4], 0, 1, 'float32', 2),
          tf.randomNormal([6, 1, 1, 8], 0, 1, 'float32', 3),
        ];
        const mimicOnly = {
          ceWeight: 0,
          negCeWeight: 0,
          tripletWeight: 0,
          kdWeight: 1,
          negKdWeight: 1,
          scoreWeight: 1,
        };
        const massOf = (detachDeepest: boolean, k: number): number => {
          const { grads } = tf.variableGrads(
            () =>
              corsdLoss(
                {
                  stages: relationStages(nets, feats, t, { training: true }),
                  anchorLabels: labels,
                  negativeLabels: t.negativeLabels,
                },
                { ...mimicOnly, detachDeepest },
              ).total,
            nets[k]!.trainableVariables,
          );
          return tf.addN(Object.values(grads).map((g) => tf.sum(tf.abs(g)))).dataSync()[0]!;
        };
        expect(massOf(true, 2)).toBe(0);
        expect(massOf(false, 2)).toBeGreaterThan(1e-6);
        expect(massOf(true, 0)).toBeGreaterThan(1e-6); // the shallow networks do learn from it
      });
      for (const n of nets) n.dispose();
    });

    it('a few SGD steps on corsdLoss reduce the loss', () => {
      const nets = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 4,
      });
      const labels = [0, 1, 2, 0, 1, 2];
      const feats = tf.tidy(() => {
        const proto = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 21);
        const f1 = tf.add(
          tf.gather(proto, labels),
          tf.randomNormal([6, 4, 4, 2], 0, 0.3, 'float32', 22),
        );
        const f2 = tf.avgPool(tf.concat([f1, f1], 3) as tf.Tensor4D, 2, 2, 'valid');
        return [f1, f2] as [tf.Tensor4D, tf.Tensor4D];
      });
      const t = tripletIndices(labels, { seed: 2 });
      const vars = nets.flatMap((n) => n.trainableVariables);
      const opt = tf.train.sgd(1);
      const step = (): number => {
        const cost = opt.minimize(
          () =>
            corsdLoss({
              stages: relationStages(nets, feats, t, { training: true }),
              anchorLabels: labels,
              negativeLabels: t.negativeLabels,
            }).total,
          true,
          vars,
        )!;
        const v = cost.dataSync()[0]!;
        cost.dispose();
        return v;
      };
      const before = tf.memory().numTensors;
      const losses = Array.from({ length: 8 }, step);
      expect(tf.memory().numTensors).toBe(before);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[7]!).toBeLessThan(losses[0]! * 0.8);
      opt.dispose();
      tf.dispose([...feats, t]);
      for (const n of nets) n.dispose();
    });
  });

  describe('state', () => {
    it('save/load round-trips exactly (trainable weights and BatchNorm running statistics)', async () => {
      const a = tiny();
      const x = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 31);
      tf.dispose(a.apply(x, { training: true })); // moves the running statistics
      const saved = await a.saveWeights();
      const b = new RelationNetwork({
        inChannels: 2,
        numBlocks: 1,
        embeddingWidth: 4,
        hiddenUnits: 3,
        numClasses: 3,
        seed: 77,
      });
      b.loadWeights(saved);
      tf.tidy(() => {
        const wa = a.getWeights();
        const wb = b.getWeights();
        expect(wb.length).toBe(wa.length);
        wa.forEach((w, i) => {
          expectClose(wb[i]!, w, { rtol: 0, atol: 0 });
        });
        const oa = a.apply(x);
        const ob = b.apply(x);
        expectClose(ob.score, oa.score, { rtol: 0, atol: 0 });
        expectClose(ob.logits, oa.logits, { rtol: 0, atol: 0 });
      });
      const other = new RelationNetwork({
        inChannels: 2,
        numBlocks: 1,
        embeddingWidth: 8,
        hiddenUnits: 3,
        numClasses: 3,
      });
      expectRelkdError(() => other.loadWeights(saved), 'SHAPE_MISMATCH');
      for (const n of [a, b, other]) n.dispose();
      x.dispose();
    });

    it('applyPairs jointBatch: one call on the 2B pairs (shared BatchNorm statistics); inference unchanged', () => {
      const a = tiny();
      const b = tiny();
      tf.tidy(() => {
        const pos = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 51) as tf.Tensor4D;
        const neg = tf.randomNormal([3, 4, 4, 2], 0.5, 2, 'float32', 52) as tf.Tensor4D;
        const joint = a.applyPairs(
          { positive: pos, negative: neg },
          { training: true, jointBatch: true },
        );
        const whole = b.apply(tf.concat([pos, neg]), { training: true });
        expectClose(
          joint.positive.score,
          tf.slice(whole.score, [0, 0], [3, 1]).arraySync() as number[][],
          { rtol: 1e-5, atol: 1e-6 },
        );
        expectClose(
          joint.negative.logits,
          tf.slice(whole.logits, [3, 0], [3, 3]).arraySync() as number[][],
          { rtol: 1e-5, atol: 1e-6 },
        );
        // separate calls normalise each kind on its own: different training-mode outputs
        const sep = b.applyPairs({ positive: pos, negative: neg }, { training: true });
        const d = tf.max(tf.abs(tf.sub(sep.negative.logits, joint.negative.logits))).dataSync()[0]!;
        expect(d).toBeGreaterThan(1e-4);
        // inference mode: rows are independent, so joint and separate agree (same weights)
        const c = tiny();
        const ji = c.applyPairs({ positive: pos, negative: neg }, { jointBatch: true });
        const si = c.applyPairs({ positive: pos, negative: neg });
        expectClose(ji.negative.score, si.negative.score.arraySync() as number[][], {
          rtol: 1e-5,
          atol: 1e-6,
        });
        expectClose(ji.positive.logits, si.positive.logits.arraySync() as number[][], {
          rtol: 1e-5,
          atol: 1e-6,
        });
        c.dispose();
        expectRelkdError(
          () => a.applyPairs({ positive: pos, negative: neg }, { jointBatch: 1 as never }),
          'INVALID_OPTION',
        );
      });
      const before = tf.memory().numTensors;
      const pos = tf.ones([2, 4, 4, 2]) as tf.Tensor4D;
      const out = a.applyPairs(
        { positive: pos, negative: pos },
        { training: true, jointBatch: true },
      );
      tf.dispose([out.positive, out.negative]);
      pos.dispose();
      expect(tf.memory().numTensors).toBe(before);
      a.dispose();
      b.dispose();
    });

    it('inference mode uses the running statistics, training mode the batch statistics', () => {
      const net = tiny();
      tf.tidy(() => {
        const x = tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 41);
        const first = tf.slice(x, [0, 0, 0, 0], [1, 4, 4, 2]);
        // inference: a row's output does not depend on the rest of the batch
        const full = net.apply(x);
        const one = net.apply(first);
        expectClose(tf.slice(full.logits, [0, 0], [1, 3]), one.logits, { rtol: 1e-5, atol: 1e-6 });
        expectClose(tf.slice(full.score, [0, 0], [1, 1]), one.score, { rtol: 1e-5, atol: 1e-6 });
        // training: it does (batch statistics)
        const fullT = net.apply(x, { training: true });
        const twoT = net.apply(tf.slice(x, [0, 0, 0, 0], [2, 4, 4, 2]), { training: true });
        const diff = tf.max(
          tf.abs(
            tf.sub(tf.slice(fullT.logits, [0, 0], [1, 3]), tf.slice(twoT.logits, [0, 0], [1, 3])),
          ),
        );
        expect(diff.dataSync()[0]).toBeGreaterThan(1e-4);
        // the training passes moved the running statistics, which inference now uses
        const moved = net
          .namedVariables()
          .filter((v) => v.path.endsWith('movingMean'))
          .map((v) => tf.sum(tf.abs(v.variable)).dataSync()[0]!);
        expect(Math.max(...moved)).toBeGreaterThan(0);
        const after = net.apply(x);
        expect(tf.max(tf.abs(tf.sub(after.logits, full.logits))).dataSync()[0]).toBeGreaterThan(
          1e-5,
        );
        // inference does not move them
        const snapshot = net.getWeights();
        net.apply(x);
        net.getWeights().forEach((w, i) => {
          expectClose(w, snapshot[i]!, { rtol: 0, atol: 0 });
        });
      });
      net.dispose();
    });

    it('inference with running statistics equal to the batch statistics reproduces training mode', () => {
      // a network with no trunk: BN only in the score head; set its running stats to the batch's
      const net = new RelationNetwork({
        inChannels: 4,
        numBlocks: 0,
        embeddingWidth: 4,
        hiddenUnits: 3,
        numClasses: 2,
        seed: 1,
      });
      tf.tidy(() => {
        const x = tf.randomNormal([5, 2, 2, 4], 0, 1, 'float32', 51);
        const train = net.apply(x, { training: true });
        const e = tf.mean(x, [1, 2]);
        const vars = net.namedVariables();
        const kernel = vars.find((v) => v.path === 'score/0/kernel')!.variable;
        const bias = vars.find((v) => v.path === 'score/0/bias')!.variable;
        const hidden = tf.add(tf.matMul(e, kernel), bias);
        const { mean, variance } = tf.moments(hidden, 0);
        vars.find((v) => v.path === 'score/1/movingMean')!.variable.assign(mean);
        vars.find((v) => v.path === 'score/1/movingVariance')!.variable.assign(variance);
        const infer = net.apply(x);
        expectClose(infer.score, train.score, { rtol: 1e-5, atol: 1e-6 });
        expectClose(infer.logits, train.logits, { rtol: 0, atol: 0 });
      });
      net.dispose();
    });
  });

  describe('leaks and errors', () => {
    it('apply, applyPairs and relationStages leak nothing; dispose releases every variable', () => {
      const before = tf.memory().numTensors;
      const nets = buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 1,
      });
      const x = tf.randomNormal([3, 4, 4, 4]);
      const f1 = tf.randomNormal([4, 4, 4, 2]);
      const f2 = tf.randomNormal([4, 2, 2, 4]);
      const t = tripletIndices([0, 1, 0, 1]);
      expectNoLeak(() => nets[0]!.apply(x, { training: true }));
      expectNoLeak(() => nets[0]!.apply(x));
      const pairs = gatherPairs(f1, t);
      expectNoLeak(() => nets[0]!.applyPairs(pairs, { training: true }));
      expectNoLeak(() => relationStages(nets, [f1, f2], t, { training: true }));
      expectRelkdError(() => relationStages(nets, [f2, f1], t), 'SHAPE_MISMATCH');
      expectRelkdError(
        () => nets[0]!.applyPairs({ positive: x as tf.Tensor4D, negative: f1 as tf.Tensor4D }),
        'SHAPE_MISMATCH',
      );
      tf.dispose([x, f1, f2, pairs, t]);
      for (const n of nets) n.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects bad inputs and options with RelkdErrors', () => {
      const net = tiny();
      const wrongC = tf.zeros([2, 4, 4, 3]);
      const rank3 = tf.zeros([2, 4, 2]);
      const empty = tf.zeros([0, 4, 4, 2]);
      const ints = tf.zeros([2, 4, 4, 2], 'int32');
      expectRelkdError(() => net.apply(wrongC), 'SHAPE_MISMATCH');
      expectRelkdError(() => net.apply(rank3), 'RANK_MISMATCH');
      expectRelkdError(() => net.apply(empty), 'EMPTY_BATCH');
      expectRelkdError(() => net.apply(ints), 'DTYPE_MISMATCH');
      expectRelkdError(() => net.apply([1, 2] as never), 'INVALID_OPTION');
      expectRelkdError(
        () => relationStages([net], [], { anchor: [0], positive: [0], negative: [0] }),
        'SHAPE_MISMATCH',
      );
      const opts = {
        inChannels: 2,
        numBlocks: 1,
        embeddingWidth: 4,
        hiddenUnits: 3,
        numClasses: 3,
      };
      expectRelkdError(() => new RelationNetwork({ ...opts, inChannels: 0 }), 'INVALID_OPTION');
      expectRelkdError(() => new RelationNetwork({ ...opts, numBlocks: -1 }), 'INVALID_OPTION');
      expectRelkdError(
        () => new RelationNetwork({ ...opts, numBlocks: 3, embeddingWidth: 6 }),
        'INVALID_OPTION',
      );
      expectRelkdError(() => new RelationNetwork({ ...opts, numClasses: 1.5 }), 'INVALID_OPTION');
      // no trunk: the pair is pooled as is unless `projection`
      expectRelkdError(() => new RelationNetwork({ ...opts, numBlocks: 0 }), 'INVALID_OPTION');
      expectRelkdError(
        () => new RelationNetwork({ ...opts, numBlocks: 0, projection: 'yes' as never }),
        'INVALID_OPTION',
      );
      new RelationNetwork({ ...opts, numBlocks: 0, projection: true }).dispose();
      new RelationNetwork({ ...opts, numBlocks: 0, embeddingWidth: 2 }).dispose();
      expectRelkdError(
        () =>
          buildRelationNetworks({
            stageShapes: [[4, 4, 2]],
            numClasses: 3,
            deepestProjection: 1 as never,
          }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => buildRelationNetworks({ stageShapes: [], numClasses: 3 }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => buildRelationNetworks({ stageShapes: [[4, 4]], numClasses: 3 }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => buildRelationNetworks({ stageShapes: [[4, 0, 2]], numClasses: 3 }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () => buildRelationNetworks({ stageShapes: [[4, 4, 2]], numClasses: 0 }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          buildRelationNetworks({
            stageShapes: [
              [4, 4, 2],
              [2, 2, 4],
            ],
            numClasses: 3,
            hiddenUnits: [4],
          }),
        'INVALID_OPTION',
      );
      expectRelkdError(
        () =>
          buildRelationNetworks({
            stageShapes: [
              [4, 4, 1],
              [2, 2, 2],
              [1, 1, 4],
              [1, 1, 8],
              [1, 1, 8],
            ],
            numClasses: 3,
            embeddingWidth: 12,
          }),
        'INVALID_OPTION',
      );
      const ok = tf.zeros([1, 4, 4, 2]);
      net.dispose();
      expectRelkdError(() => net.apply(ok), 'INVALID_OPTION');
      tf.dispose([wrongC, rank3, empty, ints, ok]);
    });
  });

  it('property: finite outputs with 0 < s < 1 and finite gradients for random small shapes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.constantFrom(1e-3, 1, 100),
        (b, ch, blocks, hw, classes, training, scale) => {
          const net = new RelationNetwork({
            inChannels: ch,
            numBlocks: blocks,
            embeddingWidth: blocks === 0 ? ch : 4, // no trunk: the pair is pooled as is
            hiddenUnits: 2,
            numClasses: classes,
            seed: b * 31 + ch,
          });
          tf.tidy(() => {
            const x = tf.randomNormal([b, hw, hw, ch], 0, scale, 'float32', hw);
            const out = net.apply(x, { training });
            const s = Array.from(out.score.dataSync());
            // training mode normalises every BatchNorm with batch statistics, so the score stays
            // strictly inside (0, 1) for any input scale; in inference mode an untrained network's
            // running statistics do not, and float32 sigmoid rounds to 1 beyond ~17: only check
            // unit-scale inputs there
            if (training || scale <= 1)
              expect(
                s.every((v) => v > 0 && v < 1),
                `scores ${s}`,
              ).toBe(true);
            else expect(s.every((v) => v >= 0 && v <= 1)).toBe(true);
            expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
            const { grads } = tf.variableGrads(() => {
              const o = net.apply(x, { training });
              return tf.add(tf.sum(o.score), tf.sum(o.logits)) as tf.Scalar;
            }, net.trainableVariables);
            for (const g of Object.values(grads))
              expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
          });
          net.dispose();
        },
      ),
      { numRuns: 12, seed: 11 },
    );
  });
});
