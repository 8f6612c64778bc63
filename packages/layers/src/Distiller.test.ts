import { crossEntropy, Dense, FusedAdamOptimizer, kdLoss, RelkdError } from '@relkd/core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from './Distiller';
import { recipes } from './methods';
// Distiller.save(dir) / load(dir) read and write directories through @relkd/layers/node.
import './node';
import type { ProgressStream } from './progress';

const C = 3;

function dense(seed: number, hidden = 8): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [6],
        units: hidden,
        activation: 'relu',
        name: `d1_${seed}`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      }),
      tfl.layers.dense({
        units: C,
        name: `out_${seed}`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

function functionalStudent(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [6] });
  const h = tfl.layers
    .dense({
      units: 8,
      activation: 'relu',
      name: `f1_${seed}`,
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    })
    .apply(input) as tfl.SymbolicTensor;
  const n = tfl.layers.batchNormalization({ name: `fbn_${seed}` }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: C, name: `fout_${seed}` }).apply(n) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function convModel(seed: number): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [6, 6, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        name: `c1_${seed}`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: C, name: `cout_${seed}` }),
    ],
  });
}

function data(n: number, seed: number) {
  const x = tf.randomNormal([n, 6], 0, 1, 'float32', seed);
  const y = tf.tidy(() =>
    tf.cast(
      tf.argMax(tf.matMul(x, tf.randomNormal([6, C], 0, 1, 'float32', seed + 1)), 1),
      'int32',
    ),
  );
  return { x, y: y as tf.Tensor1D };
}

function snapshot(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function kdTerm() {
  return {
    name: 'kd',
    weight: 0.5,
    loss: ({
      student,
      teacher,
    }: {
      student: { logits: tf.Tensor };
      teacher?: { logits: tf.Tensor } | undefined;
    }) => kdLoss(student.logits as tf.Tensor2D, teacher!.logits as tf.Tensor2D, { temperature: 2 }),
  };
}

function silent(): ProgressStream & { text: string } {
  const s = {
    text: '',
    isTTY: false,
    write: (t: string) => {
      s.text += t;
    },
  };
  return s;
}

describe.each(BACKENDS)('Distiller on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('step returns total = ceWeight·ce + Σ weight·term with unweighted parts', () => {
    const teacher = dense(1);
    const student = dense(2);
    const { x, y } = data(8, 3);
    const d = new Distiller({
      teacher,
      student,
      optimizer: tf.train.sgd(0),
      terms: [kdTerm()],
      ceWeight: 0.7,
    });
    const expected = tf.tidy(() => {
      const s = student.predict(x) as tf.Tensor2D;
      const t = teacher.predict(x) as tf.Tensor2D;
      return [crossEntropy(s, y), kdLoss(s, t, { temperature: 2 })].map((v) => v.dataSync()[0]!);
    });
    const r = d.step(x, y);
    expectClose([r.parts.ce!, r.parts.kd!], expected, { rtol: 1e-5 });
    expectClose([r.total], [0.7 * expected[0]! + 0.5 * expected[1]!], { rtol: 1e-5 });
    tf.dispose([x, y]);
  });

  it('keeps the teacher bit-identical and trains the student (fit)', async () => {
    const teacher = dense(11);
    const student = dense(12);
    const before = snapshot(teacher);
    const studentBefore = snapshot(student);
    const { x, y } = data(32, 5);
    const d = new Distiller({
      teacher,
      student,
      optimizer: tf.train.adam(0.05),
      terms: [kdTerm()],
    });
    const h = await d.fit({ x, y }, { epochs: 3, batchSize: 8, validationData: { x, y } });
    expect(h.epochs).toHaveLength(3);
    expect(h.epochs[2]!.loss.total!).toBeLessThan(h.epochs[0]!.loss.total!);
    expect(h.epochs[2]!.val!.accuracy).toBeGreaterThan(0);
    snapshot(teacher).forEach((w, i) => {
      expect(Buffer.from(w.buffer).equals(Buffer.from(before[i]!.buffer))).toBe(true);
    });
    expect(
      snapshot(student).some(
        (w, i) => !Buffer.from(w.buffer).equals(Buffer.from(studentBefore[i]!.buffer)),
      ),
    ).toBe(true);
    expect(teacher.trainable).toBe(false);
    // the var list holds student weights only
    const teacherIds = new Set(teacher.weights.map((w) => w.read().id));
    expect(d.varList().some((v) => teacherIds.has(v.id))).toBe(false);
    tf.dispose([x, y]);
  });

  it('never updates the teacher, even when a term reads its variables inside the closure', () => {
    const teacher = dense(13);
    const student = dense(14);
    const before = snapshot(teacher);
    const { x, y } = data(8, 6);
    const kernel = teacher.weights[0]!.read();
    const d = new Distiller({
      teacher,
      student,
      optimizer: tf.train.sgd(0.1),
      terms: [{ name: 'touch', loss: () => tf.sum(tf.square(kernel)) as tf.Scalar }],
    });
    d.step(x, y);
    d.step(x, y);
    snapshot(teacher).forEach((w, i) => {
      expect(Array.from(w)).toEqual(Array.from(before[i]!));
    });
    tf.dispose([x, y]);
  });

  it('dispose releases an optimizer it created, never the caller’s', () => {
    const student = dense(31);
    const { x, y } = data(8, 5);
    const before = tf.memory().numTensors;
    const own = new Distiller({ student });
    own.step(x, y);
    own.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const optimizer = tf.train.adam(0.01);
    const theirs = new Distiller({ student, optimizer });
    theirs.step(x, y);
    theirs.dispose();
    // The caller's Adam keeps its slot variables (two per student weight) until they dispose it.
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    student.dispose();
    tf.dispose([x, y]);
  });

  it('leaks no tensor over 200 steps (functional student with BatchNorm and a module)', () => {
    const teacher = dense(21);
    const student = functionalStudent(22);
    const adapter = new Dense({ inUnits: C, outUnits: C, seed: 3 });
    const { x, y } = data(8, 7);
    const d = new Distiller({
      teacher,
      student,
      optimizer: tf.train.adam(0.01),
      modules: [adapter],
      terms: [
        kdTerm(),
        {
          name: 'adapted',
          loss: ({ student: s, teacher: t }) => {
            const a = adapter.apply(s.logits, { training: true });
            return {
              total: tf.mean(tf.square(tf.sub(a, t!.logits))) as tf.Scalar,
              l1: tf.mean(tf.abs(a)) as tf.Scalar,
            };
          },
        },
      ],
    });
    d.step(x, y); // optimizer slots are created on the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('reads all loss parts back once per step', () => {
    const teacher = dense(31);
    const student = dense(32);
    const { x, y } = data(8, 9);
    const d = new Distiller({
      teacher,
      student,
      terms: [
        kdTerm(),
        {
          name: 'l2',
          loss: ({ student: s }) => ({
            total: tf.mean(tf.square(s.logits)) as tf.Scalar,
            a: tf.scalar(1),
          }),
        },
      ],
    });
    const proto = tf.Tensor.prototype as unknown as {
      dataSync: () => unknown;
      data: () => Promise<unknown>;
    };
    const origSync = proto.dataSync;
    let reads = 0;
    proto.dataSync = function (this: tf.Tensor) {
      reads++;
      return origSync.call(this);
    };
    try {
      const r = d.step(x, y);
      expect(Object.keys(r.parts).sort()).toEqual(['ce', 'kd', 'l2', 'l2/a']);
    } finally {
      proto.dataSync = origSync;
    }
    expect(reads).toBe(1);
    tf.dispose([x, y]);
  });

  it('trains the extra modules: their variables join the var list', () => {
    const student = dense(41);
    const head = new Dense({ inUnits: C, outUnits: C, seed: 5 });
    const w0 = head.getWeights().map((w) => w.dataSync().slice());
    const { x, y } = data(8, 11);
    const d = new Distiller({
      student,
      modules: [head],
      optimizer: tf.train.sgd(0.1),
      terms: [
        {
          name: 'head',
          loss: ({ student: s, batch }) =>
            crossEntropy(head.apply(s.logits, { training: true }) as tf.Tensor2D, batch.y),
        },
      ],
    });
    d.step(x, y);
    const w1 = head.getWeights().map((w) => w.dataSync());
    expect(w1.some((w, i) => w.some((v, j) => v !== w0[i]![j]))).toBe(true);
    tf.dispose([x, y]);
  });

  it('self-distillation without a teacher; batch transforms add views', () => {
    const student = dense(51);
    const { x, y } = data(8, 13);
    let sawView = false;
    const d = new Distiller({
      student,
      batchTransform: (b) => ({
        ...b,
        views: { noisy: tf.add(b.x, tf.randomNormal(b.x.shape, 0, 0.1, 'float32', 1)) },
      }),
      terms: [
        {
          name: 'consistency',
          loss: ({ student: s, teacher }) => {
            expect(teacher).toBeUndefined();
            sawView = s.views.noisy !== undefined;
            return kdLoss(s.views.noisy!.logits as tf.Tensor2D, s.logits as tf.Tensor2D);
          },
        },
      ],
    });
    const r = d.step(x, y);
    expect(sawView).toBe(true);
    expect(Number.isFinite(r.parts.consistency!)).toBe(true);
    const before = tf.memory().numTensors;
    d.step(x, y);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });

  it('trains a model loaded with tf.loadLayersModel as student and as teacher', async () => {
    let saved: tf.io.ModelArtifacts | undefined;
    const handler = tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    });
    await dense(61).save(handler);
    const teacher = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    await dense(62).save(handler);
    const student = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const before = snapshot(teacher);
    const { x, y } = data(16, 15);
    const d = new Distiller({ teacher, student, terms: [kdTerm()] });
    await d.fit({ x, y }, { epochs: 2, batchSize: 8 });
    snapshot(teacher).forEach((w, i) => {
      expect(Array.from(w)).toEqual(Array.from(before[i]!));
    });
    tf.dispose([x, y]);
  });

  it('save + load round-trips student, modules, optimizer state and counters', async () => {
    const student = dense(71);
    const head = new Dense({ inUnits: C, outUnits: C, seed: 7 });
    const mk = (s: tfl.LayersModel, m: Dense) =>
      new Distiller({
        student: s,
        modules: [m],
        optimizer: tf.train.adam(0.01),
        terms: [
          {
            name: 'h',
            loss: ({ student: o, batch }) =>
              crossEntropy(m.apply(o.logits) as tf.Tensor2D, batch.y),
          },
        ],
      });
    const d = mk(student, head);
    const { x, y } = data(8, 17);
    d.step(x, y);
    d.step(x, y);
    let saved: tf.io.ModelArtifacts | undefined;
    await d.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const next = d.step(x, y);
    // resume into fresh objects
    const student2 = dense(72);
    const head2 = new Dense({ inUnits: C, outUnits: C, seed: 8 });
    const d2 = mk(student2, head2);
    await d2.load(tf.io.fromMemory(saved!));
    expect(d2.stepCount).toBe(2);
    const again = d2.step(x, y);
    expectClose([again.total], [next.total], { rtol: 1e-5 });
    // the student alone loads with tf.loadLayersModel (strict: false skips the extra weights)
    const alone = await tfl.loadLayersModel(tf.io.fromMemory(saved!), { strict: false });
    expect(alone.layers.length).toBe(student.layers.length);
    tf.dispose([x, y]);
  });

  it('prints plain lines when the stream is not a TTY, a bar with ETA on a TTY', async () => {
    const student = dense(81);
    const { x, y } = data(16, 19);
    const plain = silent();
    const d = new Distiller({ student });
    await d.fit({ x, y }, { epochs: 2, batchSize: 4, progress: { stream: plain, label: 'run' } });
    expect(plain.text.includes('\r') || plain.text.includes(String.fromCharCode(27))).toBe(false);
    expect(plain.text.trim().split('\n')).toHaveLength(2);
    expect(plain.text).toMatch(/run epoch 1\/2 .* ce \d/);
    const tty = { ...silent(), isTTY: true, columns: 200 };
    tty.write = (t: string) => {
      tty.text += t;
    };
    await d.fit({ x, y }, { epochs: 1, batchSize: 4, progress: { stream: tty } });
    expect(tty.text).toMatch(/ETA/);
    expect(tty.text).toMatch(/\[=+/);
    tf.dispose([x, y]);
  });

  it('calls onBatchEnd / onEpochEnd and stops when stopTraining is set', async () => {
    const student = dense(111);
    const { x, y } = data(16, 23);
    const d = new Distiller({ student });
    const batches: number[] = [];
    const epochs: number[] = [];
    const h = await d.fit(
      { x, y },
      {
        epochs: 5,
        batchSize: 4,
        callbacks: {
          onBatchEnd: (b, r) => {
            batches.push(b);
            expect(Number.isFinite(r.parts.ce!)).toBe(true);
          },
          onEpochEnd: (e, log) => {
            epochs.push(e);
            expect(log.loss.ce).toBeGreaterThan(0);
            if (e === 1) d.stopTraining = true;
          },
        },
      },
    );
    expect(batches).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(epochs).toEqual([0, 1]);
    expect(h.epochs).toHaveLength(2);
    expect(d.epochCount).toBe(2);
    tf.dispose([x, y]);
  });

  it('saves to a directory and resumes from it (Node)', async () => {
    const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'relkd-layers-'));
    try {
      const { x, y } = data(8, 25);
      const d = new Distiller({ student: dense(121), optimizer: tf.train.adam(0.01) });
      d.step(x, y);
      await d.save(dir);
      expect(existsSync(join(dir, 'model.json'))).toBe(true);
      const next = d.step(x, y);
      const d2 = new Distiller({ student: dense(122), optimizer: tf.train.adam(0.01) });
      await d2.load(dir);
      expectClose([d2.step(x, y).total], [next.total], { rtol: 1e-5 });
      tf.dispose([x, y]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts iterables of batches', async () => {
    const student = dense(91);
    const { x, y } = data(8, 21);
    const batches = [
      { xs: x, ys: y },
      { xs: x, ys: y },
    ];
    const d = new Distiller({ student });
    const h = await d.fit(
      (function* () {
        for (const b of batches) yield { xs: b.xs.clone(), ys: b.ys.clone() };
      })(),
      { epochs: 1 },
    );
    expect(h.epochs[0]!.loss.ce).toBeGreaterThan(0);
    tf.dispose([x, y]);
  });

  it('rejects bad configurations with RelkdError', () => {
    const m = dense(101);
    expect(() => new Distiller({ student: m, teacher: m })).toThrow(RelkdError);
    expect(() => new Distiller({ student: m, ceWeight: -1 })).toThrow(/ceWeight/);
    expect(
      () => new Distiller({ student: m, terms: [{ name: 'ce', loss: () => tf.scalar(0) }] }),
    ).toThrow(/reserved/);
    expect(() => new Distiller({ student: m, taps: { student: { features: ['zzz'] } } })).toThrow(
      /d1_101/,
    );
    const d = new Distiller({ student: m });
    const x = tf.zeros([4, 6]);
    const y = tf.zeros([3], 'int32');
    expect(() => d.step(x, y)).toThrow(RelkdError);
    tf.dispose([x, y]);
  });
});

describe.each(BACKENDS)('Distiller with conv models on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));
  it('keeps a conv teacher frozen and trains a conv student', async () => {
    const teacher = convModel(1);
    const student = convModel(2);
    const before = snapshot(teacher);
    const x = tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    const d = new Distiller({
      teacher,
      student,
      terms: [kdTerm()],
      taps: { student: { features: ['c1_2'] }, teacher: { features: ['c1_1'] } },
    });
    const h = await d.fit({ x, y }, { epochs: 2, batchSize: 4 });
    expect(Number.isFinite(h.epochs[1]!.loss.total!)).toBe(true);
    snapshot(teacher).forEach((w, i) => {
      expect(Array.from(w)).toEqual(Array.from(before[i]!));
    });
    tf.dispose([x, y]);
  });
});

describe.each(BACKENDS)('Distiller default optimizer on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));
  it('is FusedAdamOptimizer(1e-3), one RelkdAdam kernel per variable, bit-identical to tf.train.adam(1e-3)', async () => {
    const x = tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 3);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    const fusedStudent = convModel(5);
    const adamStudent = convModel(5);
    adamStudent.setWeights(fusedStudent.getWeights());
    const fused = new Distiller({ student: fusedStudent, terms: [] });
    const adam = tf.train.adam(1e-3);
    const reference = new Distiller({ student: adamStudent, optimizer: adam, terms: [] });
    expect(fused.optimizer).toBeInstanceOf(FusedAdamOptimizer);
    expect(fused.optimizer.getConfig()).toEqual(adam.getConfig());
    for (let i = 0; i < 10; i++) {
      expect(fused.step(x, y)).toEqual(reference.step(x, y));
    }
    expect(bitsOf(fusedStudent)).toEqual(bitsOf(adamStudent));
    const { kernels } = await tf.profile(() => {
      fused.step(x, y);
    });
    const variables = fusedStudent.trainableWeights.length;
    expect(kernels.filter((k) => k.name === 'RelkdAdam')).toHaveLength(variables);
    fused.dispose();
    reference.dispose();
    adam.dispose();
    tf.dispose([x, y]);
  });
});

/** A Dense classifier `[inputs] -> [classes]` with fresh layer names. */
let setupUid = 0;
function classifier(inputs: number, classes: number, seed: number): tfl.Sequential {
  const p = `set${setupUid++}_`;
  return tfl.sequential({
    name: `${p}model`,
    layers: [
      tfl.layers.dense({
        inputShape: [inputs],
        units: 5,
        activation: 'relu',
        name: `${p}h`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      }),
      tfl.layers.dense({
        units: classes,
        name: `${p}out`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

function bitsOf(...models: tfl.LayersModel[]): number[][] {
  return models.flatMap((m) =>
    m.getWeights().map((w) => Array.from(new Uint32Array(w.dataSync().slice().buffer))),
  );
}

/** Asserts `run` rejects with a RelkdError of `code`, leaks no tensor and changes no weight. */
async function expectSetupError(
  run: () => Promise<unknown>,
  code: string,
  models: tfl.LayersModel[],
  message?: RegExp,
): Promise<void> {
  const weights = bitsOf(...models);
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a RelkdError').toBeInstanceOf(RelkdError);
  expect((caught as RelkdError).code, (caught as Error).message).toBe(code);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
  expect(tf.memory().numTensors, 'live tensors after the failed fit').toBe(before);
  expect(bitsOf(...models), 'weights after the failed fit').toEqual(weights);
}

describe.each(BACKENDS)('Distiller set-up checks on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('recipes.kd validates its options when made (INVALID_OPTION)', () => {
    for (const bad of [
      { temperature: 0 },
      { temperature: -1 },
      { temperature: Number.NaN },
      { weight: -0.5 },
      { ceWeight: Number.POSITIVE_INFINITY },
      { temprature: 2 },
    ]) {
      let code: string | undefined;
      try {
        recipes.kd(bad as never);
      } catch (e) {
        code = (e as RelkdError).code;
      }
      expect(code, JSON.stringify(bad)).toBe('INVALID_OPTION');
    }
    expect(() => recipes.kd(null as never)).toThrow(RelkdError);
    expect(recipes.kd({ temperature: 2 }).terms).toHaveLength(1);
  });

  it('a 5-class teacher with a 10-class student: SHAPE_MISMATCH naming both, before any update', async () => {
    const teacher = classifier(6, 5, 1);
    const student = classifier(6, 10, 2);
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32');
    let beforeFit = 0;
    const d = new Distiller({
      teacher,
      student,
      optimizer: tf.train.adam(0.1),
      ...recipes.kd(),
      hooks: { beforeFit: () => void beforeFit++ },
    });
    await expectSetupError(
      () => d.fit({ x, y }, { epochs: 1, batchSize: 4 }),
      'SHAPE_MISMATCH',
      [teacher, student],
      new RegExp(
        `'${teacher.name}' outputs 5 classes but the student '${student.name}' outputs 10`,
      ),
    );
    expect(beforeFit).toBe(0);
    expect(d.stepCount).toBe(0);
    // iterables: checked on the first batch, before its step
    await expectSetupError(
      () => d.fit([{ xs: x.clone(), ys: y.clone() }], { epochs: 1 }),
      'SHAPE_MISMATCH',
      [teacher, student],
    );
    expect(d.stepCount).toBe(0);
    tf.dispose([x, y]);
  });

  it('x of the wrong per-sample shape: SHAPE_MISMATCH (not tfjs ValueError), naming the model', async () => {
    const student = classifier(6, 3, 3);
    const d = new Distiller({ student, optimizer: tf.train.sgd(0.1) });
    const x7 = tf.zeros([4, 7]);
    const x3d = tf.zeros([4, 6, 1]);
    const y = tf.tensor1d([0, 1, 2, 0], 'int32');
    await expectSetupError(
      () => d.fit({ x: x7, y }),
      'SHAPE_MISMATCH',
      [student],
      new RegExp(`per-sample shape \\[7\\].*'${student.name}' expects \\[6\\]`),
    );
    await expectSetupError(() => d.fit({ x: x3d, y }), 'SHAPE_MISMATCH', [student]);
    // step() checks the input shape too (shapes only, no dry run)
    expect(() => d.step(x7, y)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    const conv = convModel(5);
    const dc = new Distiller({ student: conv });
    const noChannel = tf.zeros([4, 6, 6]);
    await expectSetupError(() => dc.fit({ x: noChannel, y }), 'SHAPE_MISMATCH', [conv]);
    // a student that does not end in [B, C] logits
    const input = tfl.input({ shape: [6] });
    const out = tfl.layers.reshape({ targetShape: [2, 3] }).apply(input) as tfl.SymbolicTensor;
    const rank3 = new Distiller({ student: tfl.model({ inputs: input, outputs: out }) });
    const x6 = tf.zeros([4, 6]);
    await expectSetupError(
      () => rank3.fit({ x: x6, y }),
      'SHAPE_MISMATCH',
      [],
      /must output \[B, C\] logits/,
    );
    // validationData of the wrong shape too
    await expectSetupError(
      () => d.fit({ x: x6, y }, { validationData: { x: x7, y } }),
      'SHAPE_MISMATCH',
      [student],
      /validationData\.x/,
    );
    tf.dispose([x7, x3d, y, noChannel, x6]);
  });

  it('wrong data forms: INVALID_OPTION with a clear message (fit([x, y]) and friends)', async () => {
    const student = classifier(6, 3, 4);
    const d = new Distiller({ student });
    const x = tf.zeros([4, 6]);
    const y = tf.tensor1d([0, 1, 2, 0], 'int32');
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['fit([x, y])', () => d.fit([x, y] as never), /write fit\(\{ x, y \}\)/],
      ['fit(null)', () => d.fit(null as never), /got null/],
      ['fit(x)', () => d.fit(x as never), /data must be/],
      ['arrays', () => d.fit({ x: [[1, 2, 3, 4, 5, 6]], y: [0] } as never), /tf\.Tensors/],
      ['missing y', () => d.fit({ x } as never), /y: undefined/],
      ['one { xs, ys }', () => d.fit({ xs: x, ys: y } as never), /\{ x: xs, y: ys \}/],
      ['bad batch', () => d.fit([{ images: x, labels: y }] as never), /batch 0/],
      [
        'bad validationData',
        () => d.fit({ x, y }, { validationData: [x, y] as never }),
        /validationData/,
      ],
      ['bad validate', () => d.fit({ x, y }, { validate: 'full' as never }), /'once' or 'none'/],
      ['bad initialEpoch', () => d.fit({ x, y }, { initialEpoch: -1 }), /initialEpoch/],
    ];
    for (const [what, run, message] of cases) {
      const before = tf.memory().numTensors;
      let caught: unknown;
      try {
        await run();
      } catch (e) {
        caught = e;
      }
      expect(caught, what).toBeInstanceOf(RelkdError);
      expect((caught as RelkdError).code, what).toBe('INVALID_OPTION');
      expect((caught as Error).message, what).toMatch(message);
      expect(tf.memory().numTensors, what).toBe(before);
    }
    const y3 = tf.tensor1d([0, 1, 2], 'int32');
    const x0 = tf.zeros([0, 6]);
    const y0 = tf.zeros([0], 'int32');
    await expectSetupError(() => d.fit({ x, y: y3 }), 'SHAPE_MISMATCH', [student]);
    await expectSetupError(() => d.fit({ x: x0, y: y0 }), 'EMPTY_BATCH', [student]);
    tf.dispose([y3, x0, y0]);
    expect(d.stepCount).toBe(0);
    tf.dispose([x, y]);
  });

  it('labels are checked once per fit (dtype, rank, width, range, one-hot), before any update', async () => {
    const teacher = classifier(6, 3, 6);
    const student = classifier(6, 3, 7);
    const d = new Distiller({ teacher, student, optimizer: tf.train.adam(0.1), ...recipes.kd() });
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
    const t = (v: number[], dtype: 'int32' | 'float32' = 'int32') => tf.tensor1d(v, dtype);
    const cases: Array<[string, tf.Tensor, string, RegExp?]> = [
      ['label = C', t([0, 1, 3, 0]), 'LABEL_OUT_OF_RANGE', /data\.y\[2\] = 3 .*\[0, 3\)/],
      ['negative label', t([0, -1, 2, 0]), 'LABEL_OUT_OF_RANGE'],
      ['non-integer float label', t([0, 1.5, 2, 0], 'float32'), 'LABEL_OUT_OF_RANGE'],
      ['bool labels', tf.tensor1d([true, false, true, false], 'bool'), 'DTYPE_MISMATCH'],
      ['rank 3', tf.zeros([4, 3, 1]), 'RANK_MISMATCH'],
      ['one-hot width 4', tf.oneHot(t([0, 1, 2, 3]), 4), 'SHAPE_MISMATCH', /width 4.*3 classes/],
      [
        'soft rows',
        tf.tensor2d([0.9, 0.1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0], [4, 3]),
        'LABEL_OUT_OF_RANGE',
        /one-hot/,
      ],
      ['two hot', tf.tensor2d([1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0], [4, 3]), 'LABEL_OUT_OF_RANGE'],
    ];
    for (const [, y, code, message] of cases) {
      await expectSetupError(() => d.fit({ x, y }), code, [teacher, student], message);
    }
    // validationData labels, and the first batch of an iterable
    const good = t([0, 1, 2, 0]);
    const badVal = t([0, 1, 2, 9]);
    await expectSetupError(
      () => d.fit({ x, y: good }, { validationData: { x, y: badVal } }),
      'LABEL_OUT_OF_RANGE',
      [teacher, student],
      /validationData\.y\[3\]/,
    );
    await expectSetupError(
      () => d.fit([{ xs: x.clone(), ys: t([0, 5, 2, 0]) }]),
      'LABEL_OUT_OF_RANGE',
      [teacher, student],
      /first batch\.y\[1\]/,
    );
    expect(d.stepCount).toBe(0);
    // what passes: int32, float32 integers, one-hot float32 rows
    for (const y of [good, t([0, 1, 2, 0], 'float32'), tf.cast(tf.oneHot(good, 3), 'float32')]) {
      const h = await d.fit({ x, y }, { batchSize: 4 });
      expect(Number.isFinite(h.epochs[0]!.loss.total!)).toBe(true);
    }
    // validate: 'none' skips the checks (the out-of-range label then trains silently)
    const h = await d.fit({ x, y: t([0, 1, 7, 0]) }, { batchSize: 4, validate: 'none' });
    expect(Number.isFinite(h.epochs[0]!.loss.total!)).toBe(true);
    tf.dispose([x, good, badVal, ...cases.map((c) => c[1])]);
  });

  it('labels are read once per fit, not per batch or epoch', async () => {
    const student = classifier(6, 3, 8);
    const d = new Distiller({ student });
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 3);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    const proto = tf.Tensor.prototype as unknown as { data: () => Promise<unknown> };
    const orig = proto.data;
    let labelReads = 0;
    proto.data = function (this: tf.Tensor) {
      if (this === y) labelReads++;
      return orig.call(this);
    };
    try {
      await d.fit({ x, y }, { epochs: 3, batchSize: 2 });
    } finally {
      proto.data = orig;
    }
    expect(labelReads).toBe(1);
    tf.dispose([x, y]);
  });

  it('the dry run uses the raw models: a batch transform with teacherOnX: false still fits', async () => {
    const teacher = classifier(6, 3, 9);
    const student = classifier(6, 3, 10);
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 4);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
    let teacherLogitsRead = false;
    const d = new Distiller({
      teacher,
      student,
      batchTransform: (b) => ({
        ...b,
        teacherOnX: false,
        teacherViews: { clean: tf.mul(b.x, 1) },
      }),
      terms: [
        {
          name: 'kdClean',
          loss: ({ student: s, teacher: t }) => {
            try {
              void t!.logits;
            } catch {
              teacherLogitsRead = true;
            }
            return kdLoss(s.logits as tf.Tensor2D, t!.views.clean!.logits as tf.Tensor2D);
          },
        },
      ],
    });
    const h = await d.fit({ x, y }, { epochs: 1, batchSize: 4 });
    expect(teacherLogitsRead).toBe(true); // the teacher really did not run on x inside the steps
    expect(Number.isFinite(h.epochs[0]!.loss.kdClean!)).toBe(true);
    tf.dispose([x, y]);
  });

  it('the dry run changes nothing: BatchNorm moving statistics stay put', async () => {
    const student = functionalStudent(31);
    const d = new Distiller({ student, optimizer: tf.train.sgd(0) });
    const x = tf.randomNormal([4, 6], 3, 2, 'float32', 5);
    const y = tf.tensor1d([0, 1, 2, 9], 'int32'); // out of range: fails after the dry run
    await expectSetupError(() => d.fit({ x, y }), 'LABEL_OUT_OF_RANGE', [student]);
    tf.dispose([x, y]);
  });
});

describe.each(BACKENDS)('Distiller resume (fit after load) on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('fit after load continues like model.fit with initialEpoch: same weights as one run', async () => {
    const { x, y } = data(24, 41);
    const make = (seed: number) =>
      new Distiller({
        student: dense(seed),
        optimizer: tf.train.adam(0.02),
        seed: 3,
        batchTransform: (b, ctx) => ({
          ...b,
          x: tf.add(b.x, tf.randomNormal(b.x.shape, 0, 0.1, 'float32', ctx.seed)),
        }),
      });
    // the uninterrupted run: 4 epochs, checkpoint after epoch index 1 (2 epochs done)
    const full = make(131);
    const startWeights = full.student.getWeights().map((w) => w.clone());
    let checkpoint: tf.io.ModelArtifacts | undefined;
    const handler = tf.io.withSaveHandler(async (a) => {
      checkpoint = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    });
    await full.fit(
      { x, y },
      {
        epochs: 4,
        batchSize: 8,
        callbacks: {
          onEpochEnd: async (e) => {
            if (e === 1) await full.save(handler);
          },
        },
      },
    );
    // "the process died after epoch 2": a fresh distiller, load, and the same fit call
    const resumed = make(131);
    resumed.student.setWeights(startWeights);
    await resumed.load(tf.io.fromMemory(checkpoint!));
    expect(resumed.epochCount).toBe(2);
    const h = await resumed.fit({ x, y }, { epochs: 4, batchSize: 8 });
    expect(h.epochs.map((e) => e.epoch)).toEqual([2, 3]);
    expect(resumed.epochCount).toBe(4);
    expect(resumed.stepCount).toBe(full.stepCount);
    const a = full.student.getWeights();
    const b = resumed.student.getWeights();
    a.forEach((w, i) => {
      expectClose(b[i]!, w, { rtol: 1e-5, atol: 1e-6 });
    });
    // nothing left to do: epochs <= the restored counter trains nothing
    await resumed.load(tf.io.fromMemory(checkpoint!));
    expect((await resumed.fit({ x, y }, { epochs: 2 })).epochs).toHaveLength(0);
    // explicit initialEpoch: model.fit semantics (epochs is the final epoch index)
    const explicit = await make(132).fit({ x, y }, { epochs: 3, initialEpoch: 1, batchSize: 8 });
    expect(explicit.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    // without load or initialEpoch: `epochs` more epochs, numbered on from the counter
    const plain = make(133);
    await plain.fit({ x, y }, { epochs: 1, batchSize: 8 });
    const again = await plain.fit({ x, y }, { epochs: 2, batchSize: 8 });
    expect(again.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    tf.dispose([x, y, ...startWeights]);
  });
});
