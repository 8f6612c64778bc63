import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  affinityGraph,
  clipMask,
  icEdgeMask,
  interClassEdges,
  interSampleEdges,
  isEdgeCount,
  isEdgeMask,
  jointEntropyMask,
  validEdgeMask,
} from './index';

const rand = (shape: [number, number], seed: number) =>
  tf.randomNormal(shape, 0, 2, 'float32', seed) as tf.Tensor2D;

describe.each(BACKENDS)('graph builders and masks on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('interSampleEdges: unit differences, antisymmetric, invalid diagonal and duplicates', () => {
    tf.tidy(() => {
      const { edges, norms, valid } = interSampleEdges([
        [0, 0],
        [3, 4],
        [3, 4],
      ]);
      expect(edges.shape).toEqual([3, 3, 2]);
      expectClose(tf.slice(edges, [0, 1, 0], [1, 1, 2]), [-0.6, -0.8]);
      expectClose(tf.slice(edges, [1, 0, 0], [1, 1, 2]), [0.6, 0.8]);
      expectClose(norms, [
        [0, 5, 5],
        [5, 0, 0],
        [5, 0, 0],
      ]);
      expectClose(valid, [
        [0, 1, 1],
        [1, 0, 0],
        [1, 0, 0],
      ]);
      // invalid edges are exactly zero vectors
      expectClose(tf.slice(edges, [1, 2, 0], [1, 1, 2]), [0, 0], { atol: 0 });
      const y = rand([5, 4], 1);
      const e = interSampleEdges(y).edges;
      expectClose(e, tf.neg(tf.transpose(e, [1, 0, 2])), { atol: 1e-7 });
      const unitNorms = tf.norm(e, 'euclidean', -1);
      expectClose(tf.add(unitNorms, tf.eye(5)), tf.ones([5, 5]), { rtol: 1e-6 });
    });
  });

  it('interClassEdges equals interSampleEdges of the transpose; gradient finite for duplicates', () => {
    tf.tidy(() => {
      const y = rand([4, 3], 2);
      expectClose(interClassEdges(y).edges, interSampleEdges(tf.transpose(y)).edges);
      const dup = tf.tensor2d([
        [1, 1, 2],
        [3, 3, 0],
      ]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(interClassEdges(x).edges)))(dup);
      expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
    });
  });

  it('antisymmetry: the full ordered graph loss is twice the upper-triangle loss', () => {
    tf.tidy(() => {
      const ys = rand([6, 4], 3);
      const yt = rand([6, 4], 4);
      for (const build of [interSampleEdges, interClassEdges]) {
        const es = build(ys);
        const et = build(yt);
        const w = tf.mul(es.valid, et.valid);
        const perEdge = tf.mul(tf.sum(tf.square(tf.sub(es.edges, et.edges)), -1), w);
        const n = perEdge.shape[0]!;
        const upper = tf.sum(tf.mul(perEdge, isUpper(n)));
        expectClose(tf.sum(perEdge), tf.mul(upper, 2), { rtol: 1e-5 });
        // bounds: every edge contributes a value in [0, 4]
        expect(tf.min(perEdge).dataSync()[0]).toBeGreaterThanOrEqual(0);
        expect(tf.max(perEdge).dataSync()[0]).toBeLessThanOrEqual(4 + 1e-6);
      }
    });
  });

  it('per-edge bound 4 is reached by opposite edges', () => {
    tf.tidy(() => {
      const es = interSampleEdges([[0], [1]]).edges;
      const et = interSampleEdges([[1], [0]]).edges;
      expectClose(tf.sum(tf.square(tf.sub(es, et)), -1), [
        [0, 4],
        [4, 0],
      ]);
    });
  });

  it('affinityGraph stacks the views and z-scores rows', () => {
    tf.tidy(() => {
      const real = rand([2, 5], 5);
      const virtual = rand([2, 5], 6);
      const g = affinityGraph({ real, virtual });
      expect(g.y.shape).toEqual([4, 5]);
      expect(g.is.edges.shape).toEqual([4, 4, 5]);
      expect(g.ic.edges.shape).toEqual([5, 5, 4]);
      expectClose(tf.mean(g.y, 1), tf.zeros([4]), { atol: 1e-6 });
      expectClose(tf.mean(tf.square(g.y), 1), tf.ones([4]), { rtol: 1e-5 });
      const raw = affinityGraph({ real, virtual }, { zsNorm: false });
      expectClose(raw.y, tf.concat([real, virtual]));
    });
  });

  it('REP masks: cross block, strict upper, IC c < d, and edge counts', () => {
    tf.tidy(() => {
      expectClose(isEdgeMask(1), [
        [0, 1],
        [0, 0],
      ]);
      expectClose(isEdgeMask(2, 'cross'), [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]);
      expectClose(isEdgeMask(2, 'upper'), isUpper(4));
      expectClose(icEdgeMask(3), isUpper(3));
      for (const b of [1, 3, 5]) {
        for (const k of ['cross', 'upper'] as const) {
          expect(tf.sum(isEdgeMask(b, k)).dataSync()[0]).toBe(isEdgeCount(b, k));
        }
      }
    });
  });

  it('validEdgeMask and clipMask', () => {
    tf.tidy(() => {
      expectClose(validEdgeMask([0, 1, 2, 1e-9], [1, 0, 2, 1]), [0, 0, 1, 0]);
      expectClose(clipMask([0, 0.5, -1], [0.1, -0.5, -0.8], 0.2), [1, 0, 1]);
    });
  });

  it('jointEntropyMask drops the floor(ratio · E) kept edges with the largest H_m + H_n', () => {
    tf.tidy(() => {
      // B = 2: rows 0,1 real, rows 2,3 virtual. Entropies: row 1 is uniform (max), row 3 is
      // high, rows 0 and 2 are peaked.
      const y = tf.tensor2d([
        [10, 0, 0],
        [0, 0, 0],
        [0, 9, 0],
        [1, 0, 0.5],
      ]);
      // cross edges: (0,2) (0,3) (1,2) (1,3); the largest joint entropy is (1,3), then (1,2) or (0,3)
      expectClose(jointEntropyMask(y, { ratio: 0.25 }), [
        [0, 0, 1, 1],
        [0, 0, 1, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]);
      expectClose(jointEntropyMask(y, { ratio: 1 }), tf.zeros([4, 4]));
      const upper = jointEntropyMask(y, { ratio: 0.5, isEdges: 'upper' });
      expect(tf.sum(upper).dataSync()[0]).toBe(6 - 3);
      // kept edges are a subset of the REP edges
      expectClose(tf.mul(upper, tf.sub(1, isUpper(4))), tf.zeros([4, 4]));
      // ties (equal entropies): the lowest flat index is dropped first
      const tie = jointEntropyMask(tf.zeros([4, 3]), { ratio: 0.5 });
      expectClose(tie, [
        [0, 0, 0, 0],
        [0, 0, 1, 1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]);
      // a ratio below 1/E drops nothing
      expectClose(jointEntropyMask(y, { ratio: 0.2 }), isEdgeMask(2));
    });
  });

  it('leaks no tensor and rejects bad input', () => {
    const y = rand([4, 3], 7);
    expectNoLeak(() => interSampleEdges(y));
    expectNoLeak(() => interClassEdges(y));
    expectNoLeak(() => affinityGraph({ real: y, virtual: y }));
    expectNoLeak(() => jointEntropyMask(y, { ratio: 0.5 }));
    expectNoLeak(() => tf.grad((x: tf.Tensor) => tf.sum(interSampleEdges(x).edges))(y));
    expectRelkdError(() => interSampleEdges([1, 2, 3]), 'RANK_MISMATCH');
    expectRelkdError(() => interClassEdges([[1]], { epsilon: -1 }), 'INVALID_OPTION');
    expectRelkdError(
      () => affinityGraph({ real: [[1, 2]], virtual: [[1, 2, 3]] }),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(() => jointEntropyMask(y, { ratio: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => jointEntropyMask(y, { ratio: -1 }), 'INVALID_OPTION');
    expectRelkdError(
      () =>
        jointEntropyMask(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          { ratio: 0.5 },
        ),
      'SHAPE_MISMATCH',
    );
    expectRelkdError(() => clipMask([1], [1], 0), 'INVALID_OPTION');
    expectRelkdError(() => clipMask([1], [1, 2], 0.5), 'SHAPE_MISMATCH');
    expectRelkdError(() => validEdgeMask([1], [1, 2]), 'SHAPE_MISMATCH');
    expectRelkdError(() => isEdgeMask(0), 'INVALID_OPTION');
    expectRelkdError(() => isEdgeMask(2, 'all' as never), 'INVALID_OPTION');
    expectRelkdError(() => icEdgeMask(1.5), 'INVALID_OPTION');
    y.dispose();
  });
});

function isUpper(n: number): tf.Tensor2D {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: n }, (_, j) => (j > i ? 1 : 0)));
  return tf.tensor2d(rows);
}
