import { SepConv } from '@relkd/core';
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
  buildStageModules,
  channelDistillationLoss,
  downsampleFor,
  linearStageMapping,
  mtkdLoss,
  type StageShape,
} from './index';

const STUDENT: StageShape[] = [
  [8, 8, 2],
  [4, 4, 4],
  [2, 2, 8],
];
const TEACHER: StageShape[] = [
  [8, 8, 4],
  [4, 4, 6],
  [2, 2, 10],
];

const randomFeatures = (stages: readonly StageShape[], b: number, seed: number) =>
  stages.map((s, k) => tf.randomNormal([b, ...s], 0, 1, 'float32', seed + k));

describe('stage pairing and the downsample rule (no tensors)', () => {
  it('downsampleFor halves with ceil until both sides fit the deepest stage', () => {
    expect(downsampleFor([32, 32], [8, 8])).toBe(2);
    expect(downsampleFor([8, 8], [8, 8])).toBe(0);
    expect(downsampleFor([7, 7], [4, 4])).toBe(1);
    expect(downsampleFor([7, 7], [2, 2])).toBe(2);
    expect(downsampleFor([56, 56], [7, 7])).toBe(3);
    expect(downsampleFor([28, 14], [7, 7])).toBe(2);
    expect(downsampleFor([4, 4], [8, 8])).toBe(0);
    expect(downsampleFor([9, 9], [1, 1])).toBe(4);
    expect(downsampleFor([5, 5], [2, 2])).toBe(2); // 5 -> 3 -> 2 (ceil, as stride 2 pad 1 does)
    expect(downsampleFor([2, 9], [2, 1])).toBe(4);
  });

  it('linearStageMapping pairs the deepest stages and is the identity for equal counts', () => {
    expect(linearStageMapping(3, 3)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(linearStageMapping(3, 4)).toEqual([
      [0, 0],
      [1, 2],
      [2, 3],
    ]);
    expect(linearStageMapping(4, 3)).toEqual([
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    expect(linearStageMapping(1, 4)).toEqual([[0, 3]]);
  });
});

describe.each(BACKENDS)('buildStageModules on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('the rule matches what core SepConv blocks actually do to H×W', () => {
    for (const [h, w, hd, wd] of [
      [7, 7, 4, 4],
      [9, 5, 2, 2],
      [16, 8, 4, 2],
      [5, 5, 2, 2],
    ] as const) {
      const d = downsampleFor([h, w], [hd, wd]);
      const blocks = Array.from(
        { length: d },
        () => new SepConv({ inChannels: 1, outChannels: 1 }),
      );
      const x = tf.zeros([1, h, w, 1]);
      const shapes = [x.shape];
      let y: tf.Tensor = x;
      for (const b of blocks) {
        const next = b.apply(y);
        if (y !== x) y.dispose();
        y = next;
        shapes.push(y.shape);
      }
      const [, ho, wo] = shapes[shapes.length - 1]!;
      expect(ho! <= hd && wo! <= wd, `${h}x${w} -> ${ho}x${wo} with ${d} blocks`).toBe(true);
      if (d > 0) {
        const [, hp, wp] = shapes[shapes.length - 2]!;
        expect(hp! <= hd && wp! <= wd).toBe(false); // one block fewer is not enough
      }
      tf.dispose([x, y]);
      for (const b of blocks) b.dispose();
    }
  });

  it('builds one adapter per pair and heads that reach the deepest resolution', () => {
    const set = buildStageModules({
      studentStages: [
        [32, 32, 16],
        [16, 16, 32],
        [8, 8, 64],
      ],
      teacherStages: [
        [32, 32, 64],
        [16, 16, 128],
        [8, 8, 256],
      ],
      numClasses: 10,
      seed: 1,
      teacherHeads: true,
    });
    expect(set.mapping).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(set.studentDownsample).toEqual([2, 1]);
    expect(set.teacherDownsample).toEqual([2, 1]);
    expect(set.student.adapters.map((a) => [a.inChannels, a.outChannels])).toEqual([
      [16, 64],
      [32, 128],
      [64, 256],
    ]);
    expect(set.student.heads.heads.map((h) => [h.inChannels, h.downsample, h.outChannels])).toEqual(
      [
        [16, 2, 64],
        [32, 1, 64],
      ],
    );
    expect(set.teacher!.heads.map((h) => [h.inChannels, h.downsample])).toEqual([
      [64, 2],
      [128, 1],
    ]);
    set.dispose();
  });

  it('uses a linear mapping for different numbers of stages, or the given one', () => {
    const set = buildStageModules({
      studentStages: STUDENT,
      teacherStages: [[8, 8, 3], ...TEACHER],
      numClasses: 3,
    });
    expect(set.mapping).toEqual(linearStageMapping(3, 4));
    expect(set.student.adapters.map((a) => [a.inChannels, a.outChannels])).toEqual([
      [2, 3],
      [4, 6],
      [8, 10],
    ]);
    set.dispose();
    const custom = buildStageModules({
      studentStages: STUDENT,
      teacherStages: TEACHER,
      numClasses: 3,
      mapping: [[2, 2]],
    });
    expect(custom.student.adapters.length).toBe(1);
    custom.dispose();
  });

  it('apply gives adapted features and head logits; the full MTKD-SSR step trains every variable', () => {
    const set = buildStageModules({
      studentStages: STUDENT,
      teacherStages: TEACHER,
      numClasses: 3,
      seed: 7,
      teacherHeads: true,
    });
    const sf = randomFeatures(STUDENT, 4, 10);
    const tfe = randomFeatures(TEACHER, 4, 20);
    const finalS = tf.randomNormal([4, 3], 0, 1, 'float32', 30);
    const finalT = tf.randomNormal([4, 3], 0, 1, 'float32', 31);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const out = set.student.apply(sf, { training: true });
    // student H×W, teacher widths
    expect(out.features.map((f) => f.shape)).toEqual([
      [4, 8, 8, 4],
      [4, 4, 4, 6],
      [4, 2, 2, 10],
    ]);
    expect(out.logits.map((z) => z.shape)).toEqual([
      [4, 3],
      [4, 3],
    ]);
    tf.dispose(out);
    const teacherLogits = [...set.teacher!.apply(tfe), finalT];
    const loss = () => {
      const o = set.student.apply(sf, { training: true });
      return mtkdLoss(
        {
          studentFeatures: o.features,
          teacherFeatures: tfe,
          studentStageLogits: [...o.logits, finalS],
          teacherStageLogits: teacherLogits,
          labels,
        },
        { mapping: set.mapping },
      ).total;
    };
    const vars = set.student.trainableVariables;
    expect(vars.length).toBeGreaterThan(0);
    const { value, grads } = tf.variableGrads(loss, vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const v of vars) {
      expect(tf.sum(tf.abs(grads[v.name]!)).dataSync()[0], v.name).toBeGreaterThan(0);
    }
    tf.dispose([value, grads]);
    const opt = tf.train.sgd(0.05);
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let i = 0; i < 5; i++) opt.minimize(loss, false, vars)?.dispose();
    const last = tf.tidy(() => loss().dataSync()[0]!);
    expect(last).toBeLessThan(first);
    opt.dispose();
    tf.dispose([sf, tfe, finalS, finalT, labels, teacherLogits]);
    set.dispose();
  });

  it('stages outside a partial mapping pass through unchanged', () => {
    const set = buildStageModules({
      studentStages: STUDENT,
      teacherStages: TEACHER,
      numClasses: 3,
      mapping: [[1, 1]],
    });
    const sf = randomFeatures(STUDENT, 2, 40);
    const tfe = randomFeatures(TEACHER, 2, 50);
    const out = set.student.apply(sf);
    expectClose(out.features[0]!, sf[0]!);
    expect(out.features[1]!.shape).toEqual([2, 4, 4, 6]);
    expect(() =>
      channelDistillationLoss(out.features, tfe, { mapping: set.mapping }).dispose(),
    ).not.toThrow();
    tf.dispose([sf, tfe, out]);
    set.dispose();
  });

  it('save/load of all adapters and heads round-trips exactly', async () => {
    const a = buildStageModules({
      studentStages: STUDENT,
      teacherStages: TEACHER,
      numClasses: 3,
      seed: 1,
    });
    const b = buildStageModules({
      studentStages: STUDENT,
      teacherStages: TEACHER,
      numClasses: 3,
      seed: 2,
    });
    const sf = randomFeatures(STUDENT, 2, 60);
    tf.dispose(a.student.apply(sf, { training: true }));
    b.student.loadWeights(await a.student.saveWeights());
    const wa = a.student.getWeights();
    const wb = b.student.getWeights();
    wa.forEach((w, i) => {
      expect(Array.from(wb[i]!.dataSync())).toEqual(Array.from(w.dataSync()));
    });
    const oa = a.student.apply(sf);
    const ob = b.student.apply(sf);
    [...oa.features, ...oa.logits].forEach((t, i) => {
      expect(Array.from([...ob.features, ...ob.logits][i]!.dataSync())).toEqual(
        Array.from(t.dataSync()),
      );
    });
    tf.dispose([sf, wa, wb, oa, ob]);
    a.dispose();
    b.dispose();
  });

  it('is seeded, leaks nothing and dispose releases every variable', () => {
    const before = tf.memory().numTensors;
    const w = (seed: number) => {
      const set = buildStageModules({
        studentStages: STUDENT,
        teacherStages: TEACHER,
        numClasses: 3,
        seed,
        teacherHeads: true,
      });
      const ws = set.student.getWeights();
      const out = ws.map((t) => Array.from(t.dataSync()));
      tf.dispose(ws);
      const sf = randomFeatures(STUDENT, 2, 70);
      expectNoLeak(() => set.student.apply(sf, { training: true }));
      const tfe = randomFeatures(TEACHER, 2, 80);
      expectNoLeak(() => set.teacher!.apply(tfe, { training: true }));
      expectNoLeak(() => set.teacher!.apply(tfe.slice(0, 2)));
      tf.dispose([sf, tfe]);
      set.dispose();
      return out;
    };
    expect(w(3)).toEqual(w(3));
    expect(w(3)).not.toEqual(w(4));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad shapes, classes, mappings and feature lists', () => {
    const ok = { studentStages: STUDENT, teacherStages: TEACHER, numClasses: 3 };
    expectRelkdError(() => buildStageModules({ ...ok, studentStages: [] }), 'INVALID_OPTION');
    expectRelkdError(
      () => buildStageModules({ ...ok, studentStages: [[2, 8, 8, 2]] as never }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => buildStageModules({ ...ok, teacherStages: [[8, 8, 0]] }),
      'INVALID_OPTION',
    );
    expectRelkdError(() => buildStageModules({ ...ok, numClasses: 0 }), 'INVALID_OPTION');
    expectRelkdError(() => buildStageModules({ ...ok, mapping: [[3, 0]] }), 'INVALID_OPTION');
    const set = buildStageModules(ok);
    const f = tf.zeros([1, 8, 8, 2]);
    expectRelkdError(() => set.student.apply([f]), 'SHAPE_MISMATCH');
    expectRelkdError(() => set.student.apply([f, f, f]), 'SHAPE_MISMATCH');
    f.dispose();
    set.dispose();
  });
});
