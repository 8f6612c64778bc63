import { DIGIT_SAFE_OPS, type VrmLossOptions, vrmLoss } from '@relkd/affinity-graph';
import { kdLoss, RelkdError } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller, type DistillerParts } from './Distiller';
import { recipes } from './methods';
import { VRM_RECIPE_UEP } from './recipes/vrm';
import { stageShapes } from './stageShapes';
import { tap } from './tap';

const C = 4;
let uid = 0;

/** A tiny two-stage CNN on 8x8x1 images: stage outputs `${p}s1` [8,8,w] and `${p}s2` [4,4,2w]. */
function cnn(width: number, seed: number): { model: tfl.LayersModel; stages: string[] } {
  const p = `m${uid++}_`;
  const init = (s: number) => tfl.initializers.heNormal({ seed: seed * 10 + s });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: width,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${p}s1`,
        kernelInitializer: init(1),
      }),
      tfl.layers.conv2d({
        filters: 2 * width,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `${p}s2`,
        kernelInitializer: init(2),
      }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(3) }),
    ],
  });
  return { model, stages: [`${p}s1`, `${p}s2`] };
}

function batch() {
  const x = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
  return { x, y };
}

function weightsOf(m: tfl.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(w.dataSync()));
}

describe.each(BACKENDS)('recipes on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  const cases: Array<
    [string, (t: ReturnType<typeof cnn>, s: ReturnType<typeof cnn>) => DistillerParts, string[]]
  > = [
    ['kd', () => recipes.kd({ temperature: 4, weight: 0.9, ceWeight: 0.1 }), ['ce', 'kd']],
    ['vrm', () => recipes.vrm({ view: { magnitude: 5 } }), ['ce', 'vrm', 'vrm/is', 'vrm/ic']],
    ['stkd', () => recipes.stkd({ numClasses: C }), ['stkd', 'stkd/ce', 'stkd/kd']],
    [
      'stkd mixedTeacherSoft',
      () => recipes.stkd({ numClasses: C, loss: { targetMode: 'mixedTeacherSoft' } }),
      ['stkd', 'stkd/kd'],
    ],
    ['icc', () => recipes.icc(), ['icc', 'icc/ce', 'icc/kd', 'icc/icc']],
    [
      'mtkd',
      (t, s) =>
        recipes.mtkd({
          teacher: t.model,
          student: s.model,
          stages: { teacher: t.stages, student: s.stages },
          numClasses: C,
          teacherHeads: 'final', // 'pretrain' needs a fit first: see the mtkd teacher-head tests
        }),
      ['mtkd', 'mtkd/scd', 'mtkd/srd', 'mtkd/crd', 'mtkd/auxCe'],
    ],
  ];

  it.each(
    cases,
  )('%s: trains the student, keeps the teacher frozen, reports its parts, leaks nothing', (_name, make, parts) => {
    const teacher = cnn(4, 1);
    const student = cnn(2, 2);
    const t0 = weightsOf(teacher.model);
    const s0 = weightsOf(student.model);
    const { x, y } = batch();
    const d = new Distiller({
      teacher: teacher.model,
      student: student.model,
      optimizer: tf.train.adam(0.01),
      ...make(teacher, student),
    });
    const r = d.step(x, y);
    for (const p of parts) {
      expect(r.parts[p], p).toBeDefined();
      expect(Number.isFinite(r.parts[p]!), p).toBe(true);
    }
    expect(Number.isFinite(r.total)).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(teacher.model)).toEqual(t0);
    expect(weightsOf(student.model)).not.toEqual(s0);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('mtkd trains its adapters and stage heads', async () => {
    const teacher = cnn(4, 3);
    const student = cnn(2, 4);
    const recipe = recipes.mtkd({
      teacher: teacher.model,
      student: student.model,
      stages: { teacher: teacher.stages, student: student.stages },
      numClasses: C,
    });
    const w0 = recipe.stageModules.getWeights().map((w) => Array.from(w.dataSync()));
    const { x, y } = batch();
    await recipe.fitTeacherHeads({ x, y });
    const d = new Distiller({ teacher: teacher.model, student: student.model, ...recipe });
    d.step(x, y);
    const w1 = recipe.stageModules.trainableVariables.map((v) => Array.from(v.dataSync()));
    expect(w1.length).toBeGreaterThan(0);
    expect(recipe.stageModules.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(w0);
    d.dispose();
    recipe.dispose();
    tf.dispose([x, y]);
  });

  it('corsd: self-distillation without a teacher trains student and relation networks', () => {
    const student = cnn(2, 5);
    const s0 = weightsOf(student.model);
    const recipe = recipes.corsd({
      student: student.model,
      stages: student.stages,
      numClasses: C,
      embeddingWidth: 16,
    });
    const n0 = recipe.networks.map((n) =>
      n.trainableVariables.map((v) => Array.from(v.dataSync())),
    );
    const { x, y } = batch();
    const d = new Distiller({ student: student.model, optimizer: tf.train.adam(0.01), ...recipe });
    const r = d.step(x, y);
    for (const p of ['ce', 'corsd', 'corsd/kd', 'corsd/triplet', 'corsd/score'])
      expect(Number.isFinite(r.parts[p]!), p).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(weightsOf(student.model)).not.toEqual(s0);
    expect(
      recipe.networks.map((n) => n.trainableVariables.map((v) => Array.from(v.dataSync()))),
    ).not.toEqual(n0);
    d.dispose();
    tf.dispose([x, y]);
  });

  describe('corsd: balanced batches, 3 stages, pair accuracy, option checks (issue 15)', () => {
    /** 28x28 student with stages 14x14x8, 7x7x32, 4x4x64 (the MNIST example's 3-stage shape). */
    function student3(seed: number): { model: tfl.LayersModel; stages: string[] } {
      const p = `c3_${uid++}_`;
      const init = (s: number) => tfl.initializers.heNormal({ seed: seed * 10 + s });
      const conv = (filters: number, k: number, extra: object = {}) =>
        tfl.layers.conv2d({
          ...extra,
          filters,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          name: `${p}s${k}`,
          kernelInitializer: init(k),
        });
      const model = tfl.sequential({
        layers: [
          conv(8, 1, { inputShape: [28, 28, 1] }),
          conv(32, 2),
          conv(64, 3),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: C, name: `${p}out`, kernelInitializer: init(4) }),
        ],
      });
      return { model, stages: [`${p}s1`, `${p}s2`, `${p}s3`] };
    }

    it('3 stages: networks per the spec (no projection), parts incl. acc1..acc3 and headAcc, trains, no leak', () => {
      const s = student3(1);
      expect(stageShapes(s.model, s.stages)).toEqual([
        [14, 14, 8],
        [7, 7, 32],
        [4, 4, 64],
      ]);
      const recipe = recipes.corsd({ student: s.model, stages: s.stages, numClasses: C });
      expect(recipe.networks.map((n) => [n.blockWidths, n.embeddingWidth])).toEqual([
        [[64, 128], 128],
        [[128], 128],
        [[], 128], // GAP of the 2·64-wide pair, no 1×1 projection
      ]);
      const n0 = recipe.networks.map((n) =>
        n.trainableVariables.map((v) => Array.from(v.dataSync())),
      );
      const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 5);
      const y = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32');
      const d = new Distiller({ student: s.model, optimizer: tf.train.adam(0.01), ...recipe });
      const r = d.step(x, y);
      for (const p of [
        'corsd/kd',
        'corsd/ce',
        'corsd/negKd',
        'corsd/negCe',
        'corsd/triplet',
        'corsd/score',
      ])
        expect(Number.isFinite(r.parts[p]!), p).toBe(true);
      for (const p of ['corsd/acc1', 'corsd/acc2', 'corsd/acc3', 'corsd/headAcc']) {
        const v = r.parts[p]!;
        expect(v >= 0 && v <= 1 && Number.isInteger(v * 8), p).toBe(true); // k/8 of the batch
      }
      expect(r.parts['corsd/acc4']).toBeUndefined();
      const before = tf.memory().numTensors;
      d.step(x, y);
      expect(tf.memory().numTensors).toBe(before);
      recipe.networks.forEach((n, k) => {
        expect(
          n.trainableVariables.map((v) => Array.from(v.dataSync())),
          `network ${k + 1}`,
        ).not.toEqual(n0[k]);
      });
      d.dispose();
      tf.dispose([x, y]);
    });

    it('logAccuracy: false drops the monitoring parts; tSquared and jointPairBatch reach the loss', () => {
      const s = cnn(2, 11);
      const { x, y } = batch();
      const make = (extra: object) =>
        new Distiller({
          student: s.model,
          optimizer: tf.train.sgd(0),
          ...recipes.corsd({
            student: s.model,
            stages: s.stages,
            numClasses: C,
            seed: 3,
            ...extra,
          }),
        });
      const plain = make({ logAccuracy: false });
      const a = plain.step(x, y);
      expect(Object.keys(a.parts).some((k) => k.includes('acc'))).toBe(false);
      const sq = make({ logAccuracy: false, loss: { tSquared: true } });
      const b = sq.step(x, y);
      expect(b.parts['corsd/kd']!).toBeCloseTo(9 * a.parts['corsd/kd']!, 4);
      expect(b.parts['corsd/ce']!).toBeCloseTo(a.parts['corsd/ce']!, 5);
      // jointPairBatch (default true) shares the BatchNorm statistics of both pair kinds
      const separate = make({ logAccuracy: false, jointPairBatch: false });
      const c = separate.step(x, y);
      expect(Math.abs(c.parts['corsd/triplet']! - a.parts['corsd/triplet']!)).toBeGreaterThan(1e-5);
      separate.dispose();
      plain.dispose();
      sq.dispose();
      tf.dispose([x, y]);
    });

    it('fit draws class-balanced P x K batches through the recipe sampler (every anchor has a positive)', async () => {
      const s = cnn(2, 12);
      const n = 48;
      const labels = Array.from({ length: n }, (_, i) => (i < 24 ? i % 2 : 2 + (i % 2))); // 4 classes x 12
      const x = tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', 6);
      const y = tf.tensor1d(labels, 'int32');
      const recipe = recipes.corsd({
        student: s.model,
        stages: s.stages,
        numClasses: C,
        classesPerBatch: 3,
        logAccuracy: false,
      });
      expect(typeof recipe.sampler).toBe('function');
      const seen: number[][] = [];
      const transform = recipe.batchTransform!;
      const d = new Distiller({
        student: s.model,
        optimizer: tf.train.sgd(0),
        ...recipe,
        batchTransform: (b, c) => {
          seen.push(Array.from(b.y.dataSync()));
          return transform(b, c);
        },
      });
      await d.fit({ x, y }, { epochs: 2, batchSize: 9 });
      expect(seen.length).toBe(2 * Math.ceil(n / 9));
      for (const b of seen) {
        const counts = new Map<number, number>();
        for (const v of b) counts.set(v, (counts.get(v) ?? 0) + 1);
        expect(b.length).toBe(9);
        expect([...counts.values()]).toEqual([3, 3, 3]);
      }
      const off = recipes.corsd({
        student: s.model,
        stages: s.stages,
        numClasses: C,
        balancedBatches: false,
      });
      expect(off.sampler).toBeUndefined();
      for (const net of off.networks) net.dispose();
      d.dispose();
      tf.dispose([x, y]);
    });

    it('Distiller sampler: called once per epoch with the labels read once; its order makes the batches; checked', async () => {
      const s = cnn(2, 13);
      const n = 6;
      const x = tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', 7);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32'), C); // one-hot labels are argMax-ed
      const calls: Array<{ labels: number[]; batchSize: number; seed: number; epoch: number }> = [];
      const seen: number[][] = [];
      const d = new Distiller({
        student: s.model,
        optimizer: tf.train.sgd(0),
        seed: 5,
        sampler: ({ labels, batchSize, seed, epoch }) => {
          calls.push({ labels: Array.from(labels), batchSize, seed, epoch });
          return epoch === 0 ? [5, 4, 3, 2, 1] : [0, 0, 1];
        },
        batchTransform: (b) => {
          seen.push(Array.from(b.y.dataSync()));
          return b;
        },
      });
      const h = await d.fit({ x, y }, { epochs: 2, batchSize: 2 });
      expect(calls).toEqual([
        { labels: [0, 1, 2, 3, 0, 1], batchSize: 2, seed: 5, epoch: 0 },
        { labels: [0, 1, 2, 3, 0, 1], batchSize: 2, seed: 5, epoch: 1 },
      ]);
      expect(seen).toEqual([[1, 0], [3, 2], [1], [0, 0], [1]]);
      expect(h.epochs).toHaveLength(2);
      const bad = new Distiller({ student: s.model, sampler: () => [0, n] });
      await expect(bad.fit({ x, y }, { batchSize: 2 })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
      });
      expect(() => new Distiller({ student: s.model, sampler: 3 as never })).toThrow(RelkdError);
      // iterable data: the batches are the caller's, the sampler is not called
      calls.length = 0;
      await d.fit([{ x, y }], { epochs: 1 });
      expect(calls).toHaveLength(0);
      tf.dispose([x, y]);
    });

    it('options are validated when the recipe is made (INVALID_OPTION)', () => {
      const s = cnn(2, 14);
      const base = { student: s.model, stages: s.stages, numClasses: C };
      const bad: object[] = [
        { numClasses: 1 },
        { numClasses: 2.5 },
        { stages: [] },
        { stages: [s.stages[0], s.stages[0]] },
        { student: {} },
        { weight: -1 },
        { weight: Number.NaN },
        { embeddingWidth: 0 },
        { seed: Number.POSITIVE_INFINITY },
        { classesPerBatch: 1 },
        { classesPerBatch: C + 1 },
        { samplesPerClass: 1 },
        { deepestProjection: 'no' },
        { balancedBatches: 1 },
        { logAccuracy: null },
        { jointPairBatch: 'yes' },
        { loss: { temperature: 0 } },
        { loss: { tSquared: 'yes' } },
        { loss: { kdWieght: 1 } },
        { tSquared: true },
      ];
      for (const o of bad) {
        let code: string | undefined;
        try {
          recipes.corsd({ ...base, ...o } as never);
        } catch (e) {
          code = (e as RelkdError).code;
        }
        expect(code, JSON.stringify(o)).toBe('INVALID_OPTION');
      }
      const ok = recipes.corsd({ ...base, deepestProjection: true, embeddingWidth: 16 });
      expect(ok.networks[1]!.embeddingWidth).toBe(16);
      for (const net of ok.networks) net.dispose();
    });
  });

  it('iccTeacher trains a model with the regulariser and refreshes the tracker each epoch', async () => {
    const teacher = cnn(2, 6);
    const recipe = recipes.iccTeacher({ numClasses: C, weight: 0.5 });
    const { x, y } = batch();
    const d = new Distiller({ student: teacher.model, optimizer: tf.train.adam(0.05), ...recipe });
    const h = await d.fit({ x, y }, { epochs: 3, batchSize: 8 });
    expect(Number.isFinite(h.epochs[2]!.loss.iccTeacher!)).toBe(true);
    expect(h.epochs[0]!.loss['iccTeacher/reg']).toBeDefined();
    const a = recipe.tracker.matrix();
    const rows = tf.sum(a, 1);
    Array.from(rows.dataSync()).forEach((v) => {
      expect(v).toBeCloseTo(1, 5);
    });
    tf.dispose([a, rows, x, y]);
    d.dispose();
  });

  it('a teacher-based recipe without a teacher throws INVALID_OPTION', () => {
    const student = cnn(2, 7);
    const { x, y } = batch();
    const d = new Distiller({ student: student.model, ...recipes.kd() });
    const attempt = () => {
      try {
        d.step(x, y);
        expect.unreachable();
      } catch (e) {
        expect((e as RelkdError).code).toBe('INVALID_OPTION');
      }
    };
    attempt();
    const before = tf.memory().numTensors;
    attempt();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('stageShapes reads NHWC stage shapes and rejects non-spatial layers', () => {
    const m = cnn(2, 8);
    expect(stageShapes(m.model, m.stages)).toEqual([
      [8, 8, 2],
      [4, 4, 4],
    ]);
    const last = m.model.layers[m.model.layers.length - 1]!.name;
    expect(() => stageShapes(m.model, [last])).toThrow(RelkdError);
  });
});

describe.each(BACKENDS)('recipes.mtkd teacher stage heads on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  const pair = (t: number, s: number) => ({ teacher: cnn(4, t), student: cnn(2, s) });
  const make = (
    p: ReturnType<typeof pair>,
    extra: Partial<Parameters<typeof recipes.mtkd>[0]> = {},
  ) =>
    recipes.mtkd({
      teacher: p.teacher.model,
      student: p.student.model,
      stages: { teacher: p.teacher.stages, student: p.student.stages },
      numClasses: C,
      ...extra,
    });
  const values = (ts: tf.Tensor[]) => {
    const v = ts.map((t) => Array.from(t.dataSync()));
    tf.dispose(ts);
    return v;
  };

  it.each([
    'pretrain',
    'final',
  ] as const)("SRD target of the earlier stage with teacherHeads '%s'", async (mode) => {
    const p = pair(11, 12);
    const { x, y } = batch();
    // Only the earlier stage's SRD term, so `mtkd/srd` = KD(student head, teacher target).
    const recipe = make(p, { teacherHeads: mode, loss: { srdStageWeights: [1, 0] } });
    const d = new Distiller({ teacher: p.teacher.model, student: p.student.model, ...recipe });
    await d.fit({ x, y }, { epochs: 0 }); // runs beforeFit only: fits the teacher heads
    expect(recipe.teacherHeadsReady).toBe(true);
    const [expectHead, expectFinal, headVsFinal] = tf.tidy(() => {
      const s = tap(p.student.model, { features: p.student.stages })(x, { training: true });
      const t = tap(p.teacher.model, { features: p.teacher.stages })(x);
      const tf0 = p.teacher.stages.map((n) => t.features[n]!);
      const zS0 = recipe.stageModules.apply(
        p.student.stages.map((n) => s.features[n]!),
        { training: true },
      ).logits[0]!;
      const final = t.logits as tf.Tensor2D;
      const zT0 =
        recipe.teacherHeads === null
          ? final
          : (recipe.teacherHeads.apply(tf0, { training: false })[0]! as tf.Tensor2D);
      return [
        kdLoss(zS0 as tf.Tensor2D, zT0),
        kdLoss(zS0 as tf.Tensor2D, final),
        tf.max(tf.abs(tf.sub(zT0, final))),
      ];
    });
    const r = d.step(x, y);
    const srd = r.parts['mtkd/srd']!;
    const [head, final, gap] = [expectHead, expectFinal, headVsFinal].map((t) => t!.dataSync()[0]!);
    if (mode === 'pretrain') {
      expect(gap).toBeGreaterThan(1e-2); // the stage target is not the final logits
      expect(srd).toBeCloseTo(head!, 4);
      expect(Math.abs(srd - final!)).toBeGreaterThan(1e-3);
      expect(recipe.teacherHeadAccuracy).toHaveLength(1);
    } else {
      expect(recipe.teacherHeads).toBeNull();
      expect(gap).toBe(0);
      expect(srd).toBeCloseTo(final!, 4);
      expect(recipe.teacherHeadAccuracy).toBeUndefined();
    }
    tf.dispose([expectHead, expectFinal, headVsFinal, x, y]);
    d.dispose();
    recipe.dispose();
  });

  it('pretrains once on the first fit; teacher bit-identical, heads outside the varList and frozen, no leaks', async () => {
    const p = pair(13, 14);
    const { x, y } = batch();
    const t0 = weightsOf(p.teacher.model);
    const recipe = make(p, { teacherHeadFit: { epochs: 3, batchSize: 4, learningRate: 0.01 } });
    const d = new Distiller({
      teacher: p.teacher.model,
      student: p.student.model,
      optimizer: tf.train.adam(0.01),
      ...recipe,
    });
    const heads = recipe.teacherHeads!;
    const ids = new Set(heads.variables.map((v) => v.id));
    expect(d.varList().some((v) => ids.has(v.id))).toBe(false);
    const h0 = values(heads.getWeights());
    expect(recipe.teacherHeadsReady).toBe(false);
    const before = tf.memory().numTensors;
    await d.fit({ x, y }, { epochs: 0 });
    expect(tf.memory().numTensors).toBe(before); // pretraining leaks nothing
    const h1 = values(heads.getWeights());
    expect(h1).not.toEqual(h0);
    const acc = recipe.teacherHeadAccuracy!;
    expect(acc).toHaveLength(1);
    expect(acc[0]).toBeGreaterThanOrEqual(0);
    expect(acc[0]).toBeLessThanOrEqual(1);
    await d.fit({ x, y }, { epochs: 2, batchSize: 4 });
    expect(recipe.teacherHeadAccuracy).toBe(acc); // not fitted again
    expect(values(heads.getWeights())).toEqual(h1); // the student's optimizer never touched them
    expect(weightsOf(p.teacher.model)).toEqual(t0);
    const steady = tf.memory().numTensors;
    d.step(x, y);
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(steady);
    d.dispose();
    recipe.dispose();
    tf.dispose([x, y]);
  });

  it('cached head weights (tensors or saveWeights) skip pretraining', async () => {
    const p = pair(15, 16);
    const { x, y } = batch();
    const first = make(p);
    const r = await first.fitTeacherHeads({ x, y });
    expect(first.teacherHeadAccuracy).toEqual(r.accuracy);
    const cached = first.teacherHeads!.getWeights();
    const saved = await first.teacherHeads!.saveWeights();
    const fitted = values(first.teacherHeads!.getWeights());
    for (const teacherHeadWeights of [cached, saved]) {
      const recipe = make(p, { teacherHeadWeights });
      expect(recipe.teacherHeadsReady).toBe(true);
      expect(values(recipe.teacherHeads!.getWeights())).toEqual(fitted);
      const d = new Distiller({ teacher: p.teacher.model, student: p.student.model, ...recipe });
      d.step(x, y); // no fit needed
      await d.fit({ x, y }, { epochs: 1, batchSize: 8 });
      expect(recipe.teacherHeadAccuracy).toBeUndefined(); // no pretraining happened
      expect(values(recipe.teacherHeads!.getWeights())).toEqual(fitted);
      d.dispose();
      recipe.dispose();
    }
    expect(cached.every((t) => !t.isDisposed)).toBe(true); // the caller keeps ownership
    tf.dispose([...cached, x, y]);
    first.dispose();
  });

  it('a step before the heads are fitted throws INVALID_OPTION without leaking; fitTeacherHeads fixes it', async () => {
    const p = pair(17, 18);
    const { x, y } = batch();
    const recipe = make(p);
    const d = new Distiller({ teacher: p.teacher.model, student: p.student.model, ...recipe });
    expect(() => d.step(x, y)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    const before = tf.memory().numTensors; // after a first attempt (tfjs-layers' lazy state)
    expect(() => d.step(x, y)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(tf.memory().numTensors).toBe(before);
    await recipe.fitTeacherHeads({ x, y });
    expect(Number.isFinite(d.step(x, y).total)).toBe(true);
    d.dispose();
    recipe.dispose();
    tf.dispose([x, y]);
  });

  it('iterable fit data needs teacherHeadData', async () => {
    const p = pair(19, 20);
    const { x, y } = batch();
    const plain = make(p);
    const d1 = new Distiller({ teacher: p.teacher.model, student: p.student.model, ...plain });
    await expect(d1.fit([{ x, y }], { epochs: 1 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    const withData = make(p, { teacherHeadData: { x, y } });
    const d2 = new Distiller({ teacher: p.teacher.model, student: p.student.model, ...withData });
    await d2.fit([{ x, y }], { epochs: 1 });
    expect(withData.teacherHeadAccuracy).toHaveLength(1);
    for (const r of [plain, withData]) r.dispose();
    d1.dispose();
    d2.dispose();
    tf.dispose([x, y]);
  });

  it('validates its options when made (INVALID_OPTION, no leak)', () => {
    const p = pair(21, 22);
    const { x, y } = batch();
    const short = tf.slice(y, 0, 3);
    const wrong = [tf.zeros([2])];
    const bad: Array<Partial<Parameters<typeof recipes.mtkd>[0]>> = [
      { teacherHeads: 'heads' as never },
      { teacherStageLogits: 'final' } as never,
      { teacherHeadFit: { epochs: 0 } },
      { teacherHeadFit: { learningRate: -1 } },
      { teacherHeadFit: { epoch: 2 } as never },
      { teacherHeads: 'final', teacherHeadWeights: wrong },
      { teacherHeads: 'final', teacherHeadData: { x, y } },
      { teacherHeadData: { x, y: short } },
      { teacherHeadData: { x } as never },
      { teacherHeadWeights: wrong },
      { teacherHeadWeights: 'cached' as never },
    ];
    const before = tf.memory().numTensors;
    for (const extra of bad) {
      expect(() => make(p, extra), JSON.stringify(Object.keys(extra))).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y, short, ...wrong]);
  });
});

describe.each(BACKENDS)('recipes.vrm on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  const outputs = (logits: tf.Tensor, virtual: tf.Tensor) => ({
    logits,
    features: {},
    views: { virtual: { logits: virtual, features: {} } },
  });
  /** The recipe's `vrm` term on fixed logits (B = 4, so joint-entropy pruning drops edges). */
  function vrmTerm(parts: DistillerParts, l: tf.Tensor[]): tf.Scalar {
    const term = parts.terms!.find((t) => t.name === 'vrm')!;
    const ctx = {
      batch: { x: tf.zeros([4, 8, 8, 1]), y: tf.tensor1d([0, 1, 2, 3], 'int32'), views: {} },
      student: outputs(l[0]!, l[1]!),
      teacher: outputs(l[2]!, l[3]!),
      training: true,
    };
    return (term.loss(ctx as never) as { total: tf.Scalar }).total;
  }
  const direct = (l: tf.Tensor[], o: VrmLossOptions) =>
    vrmLoss(
      { student: { real: l[0]!, virtual: l[1]! }, teacher: { real: l[2]!, virtual: l[3]! } },
      o,
    ).total;
  const value = (t: tf.Scalar) => t.dataSync()[0]!;

  it('enables unreliable-edge pruning by default (VRM_RECIPE_UEP); loss.uep overrides it', () => {
    expect(VRM_RECIPE_UEP.kind).not.toBe('none');
    expect(Object.isFrozen(VRM_RECIPE_UEP)).toBe(true);
    tf.tidy(() => {
      const l = [1, 2, 3, 4].map((k) => tf.randomNormal([4, C], 0, 2, 'float32', k));
      const pruned = value(direct(l, { uep: VRM_RECIPE_UEP }));
      const unpruned = value(direct(l, { uep: { kind: 'none' } }));
      expect(Math.abs(pruned - unpruned)).toBeGreaterThan(1e-4); // the test can tell them apart
      expect(value(vrmTerm(recipes.vrm(), l))).toBeCloseTo(pruned, 5);
      expect(value(vrmTerm(recipes.vrm({ loss: { zsNorm: true } }), l))).toBeCloseTo(pruned, 5);
      expect(value(vrmTerm(recipes.vrm({ loss: { uep: { kind: 'none' } } }), l))).toBeCloseTo(
        unpruned,
        5,
      );
      const clip = { kind: 'clip', delta: 0.4 } as const;
      expect(value(vrmTerm(recipes.vrm({ loss: { uep: clip } }), l))).toBeCloseTo(
        value(direct(l, { uep: clip })),
        5,
      );
    });
  });

  it('trains with digit-safe views and the default pruning, without leaks', () => {
    const teacher = cnn(4, 7);
    const student = cnn(2, 8);
    const { x, y } = batch();
    const d = new Distiller({
      teacher: teacher.model,
      student: student.model,
      optimizer: tf.train.adam(0.01),
      ...recipes.vrm({ view: { ops: DIGIT_SAFE_OPS, magnitude: 9 }, virtualCe: true }),
    });
    const r = d.step(x, y);
    for (const p of ['ce', 'vrm', 'vrm/is', 'vrm/ic', 'virtualCe'])
      expect(Number.isFinite(r.parts[p]!), p).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    d.dispose();
    tf.dispose([x, y]);
  });

  it('validates its options when made (INVALID_OPTION)', () => {
    const bad: unknown[] = [
      null,
      { weight: -1 },
      { weight: Number.NaN },
      { ceWeight: -0.5 },
      { kdWeight: Number.POSITIVE_INFINITY },
      { temperature: 0 },
      { virtualCe: 'yes' },
      { view: { magnitude: 31 } },
      { view: { magnitude: 11, magnitudeScale: 'tenths' } },
      { view: { ops: ['cutout'] } },
      { view: { seed: 3 } },
      { loss: { uep: { kind: 'jointEntropy', ratio: 2 } } },
      { loss: { uep: { kind: 'prune' } } },
      { loss: { weights: { is: -1 } } },
      { loss: { path: 'gram', uep: { kind: 'clip', delta: 0.1 } } },
      { loss: { path: 'gram' } }, // the default jointEntropy UEP is fine on the Gram path
    ];
    const before = tf.memory().numTensors;
    for (const o of bad.slice(0, -1)) {
      let err: unknown;
      try {
        recipes.vrm(o as never);
      } catch (e) {
        err = e;
      }
      expect(err instanceof RelkdError && err.code === 'INVALID_OPTION', JSON.stringify(o)).toBe(
        true,
      );
    }
    expect(() => recipes.vrm(bad.at(-1) as never)).not.toThrow();
    expect(() => recipes.vrm({ view: { magnitude: 30 }, weight: 0 })).not.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});
