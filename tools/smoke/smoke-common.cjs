// Shared body of the plain-node smoke tests of the PACKED packages (see check-packages.mjs).
// smoke.mjs (ESM `import`) and smoke.cjs (CJS `require`) load the modules their own way and
// hand them here, so both resolution paths are exercised. Every package's main entry point runs
// with a gradient on cpu and on wasm, and the two backends must agree.
'use strict';

function close(a, b, tol, what) {
  if (!(Math.abs(a - b) <= tol * (1 + Math.abs(b)))) throw new Error(`${what}: ${a} != ${b}`);
}

/** Each check returns [value, gradient norm] of one loss (finite, compared across backends). */
function checks(m) {
  const { tf } = m;
  const logits = (b, c, seed) => tf.mul(tf.randomNormal([b, c], 0, 1, 'float32', seed), 2);
  const valueGrads = (f, xs) => {
    const g = tf.valueAndGrads((...args) => f(args))(xs);
    const norm = tf.addN(g.grads.map((t) => tf.sum(tf.square(t)))).dataSync()[0];
    return { value: g.value.dataSync()[0], grads: norm };
  };
  const run = (f, xs) => {
    const r = valueGrads(f, xs);
    return [r.value, r.grads];
  };
  return {
    core: () =>
      run(([s]) => m.core.kdLoss(s, logits(4, 5, 2), { temperature: 2 }), [logits(4, 5, 1)]),
    'affinity-graph': () =>
      run(
        ([sr, sv]) =>
          m.affinity.vrmLoss({
            student: { real: sr, virtual: sv },
            teacher: { real: logits(4, 5, 3), virtual: logits(4, 5, 4) },
          }).total,
        [logits(4, 5, 1), logits(4, 5, 2)],
      ),
    'mixup-similarity': () => {
      const y = tf.tensor1d([0, 1, 2, 1], 'int32');
      const mixed = m.mixup.mixup(logits(4, 6, 5), y, { numClasses: 3, alpha: 1, seed: 7 });
      return run(
        ([s]) =>
          m.mixup.stkdLoss({ student: s, teacher: logits(4, 3, 6), targets: mixed.targets }).total,
        [logits(4, 3, 1)],
      );
    },
    'class-correlation': () =>
      run(
        ([s]) =>
          m.icc.iccStudentLoss({
            student: s,
            teacher: logits(4, 5, 2),
            labels: tf.tensor1d([0, 1, 4, 1], 'int32'),
          }).total,
        [logits(4, 5, 1)],
      ),
    'stage-distill': () => {
      const feats = (seed) => [
        tf.randomNormal([4, 4, 4, 3], 0, 1, 'float32', seed),
        tf.randomNormal([4, 2, 2, 5], 0, 1, 'float32', seed + 1),
      ];
      const teacherFeatures = feats(10);
      const teacherStageLogits = [logits(4, 5, 20), logits(4, 5, 21)];
      return run(
        ([f1, f2, z1, z2]) =>
          m.stage.mtkdLoss({
            studentFeatures: [f1, f2],
            teacherFeatures,
            studentStageLogits: [z1, z2],
            teacherStageLogits,
            labels: tf.tensor1d([0, 1, 2, 3], 'int32'),
          }).total,
        [...feats(30), logits(4, 5, 40), logits(4, 5, 41)],
      );
    },
    'relation-network': () => {
      // Trains through SepConv blocks: on wasm this needs @relkd/backend's filled depthwise gradients.
      const nets = m.relation.buildRelationNetworks({
        stageShapes: [
          [4, 4, 2],
          [2, 2, 4],
        ],
        numClasses: 3,
        seed: 1,
      });
      const y = tf.tensor1d([0, 1, 2, 0], 'int32');
      const t = m.relation.tripletIndices([0, 1, 2, 0], { seed: 3 });
      const features = [
        tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 5),
        tf.randomNormal([4, 2, 2, 4], 0, 1, 'float32', 6),
      ];
      const vars = nets.flatMap((n) => n.trainableVariables);
      const { value, grads } = tf.variableGrads(() => {
        const stages = m.relation.relationStages(nets, features, t, { training: true });
        return m.relation.corsdLoss({ stages, anchorLabels: y, negativeLabels: t.negativeLabels })
          .total;
      }, vars);
      const norm = tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0];
      const out = [value.dataSync()[0], norm];
      for (const n of nets) n.dispose();
      return out;
    },
    layers: () => {
      const tfl = m.tfl;
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({
            inputShape: [6],
            units: 4,
            activation: 'relu',
            name: 'hidden',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
          }),
          tfl.layers.dense({
            units: 3,
            name: 'out',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
          }),
        ],
      });
      const tapped = m.layers.tap(model, { features: ['hidden'] });
      const out = tapped(tf.ones([2, 6]));
      const r = [tf.sum(out.logits).dataSync()[0], tf.sum(out.features.hidden).dataSync()[0]];
      model.dispose();
      return r;
    },
  };
}

/**
 * `@relkd/layers/node` (when given): its import registered file:// routers; a LayersModel saved with
 * `model.save('file://...')` loads back with `tfl.loadLayersModel('file://.../model.json')`, weights
 * bit-identical, and a missing model is a RelkdError IO_ERROR. No tfjs-node involved.
 */
async function fileRoundTrip(mods, label) {
  const { tf, tfl, layersNode } = mods;
  if (layersNode === undefined) return;
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  if (layersNode.registerFileRouters() !== true)
    throw new Error(`${label}: @relkd/layers/node did not register its file:// routers`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relkd-smoke-'));
  try {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ inputShape: [3], units: 2, name: 'smoke_dense' })],
    });
    await model.save(`file://${dir}/m`);
    const files = fs.readdirSync(path.join(dir, 'm')).sort().join(',');
    if (files !== 'model.json,weights.bin')
      throw new Error(`${label}: file:// save wrote ${files}`);
    const back = await tfl.loadLayersModel(`file://${dir}/m/model.json`);
    const a = model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = back.getWeights().map((w) => Array.from(w.dataSync()));
    if (JSON.stringify(a) !== JSON.stringify(b))
      throw new Error(`${label}: file:// round trip changed the weights`);
    model.dispose();
    back.dispose();
    let code;
    try {
      await tfl.loadLayersModel(`file://${dir}/missing/model.json`);
    } catch (e) {
      code = e.code;
    }
    if (code !== 'IO_ERROR') throw new Error(`${label}: missing model gave ${code}, not IO_ERROR`);
    if (tf.io.getLoadHandlers(`file://${dir}/m/model.json`).length !== 1)
      throw new Error(`${label}: expected exactly one file:// load handler`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${label} @relkd/layers/node: file:// save + load ok`);
}

/**
 * `@relkd/layers/methods` and the recipe subpaths (when given): every registry entry's recipe is
 * the function its subpath `@relkd/layers/recipes/<name>` exports (one copy, ESM or CJS), and the
 * registry's KD recipe trains a tiny student for one Distiller step to a finite loss.
 */
function recipeSubpaths(mods, label) {
  const { tf, tfl, layers, layersMethods, layersRecipes } = mods;
  if (layersMethods === undefined) return;
  const { methods, methodNames } = layersMethods;
  for (const name of methodNames) {
    const sub = layersRecipes[name];
    if (sub === undefined || sub[name] !== methods[name].recipe)
      throw new Error(
        `${label}: @relkd/layers/recipes/${name} does not export the registry's recipe`,
      );
  }
  const dense = (seed) =>
    tfl.sequential({
      layers: [
        tfl.layers.dense({
          inputShape: [4],
          units: 3,
          kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        }),
      ],
    });
  const teacher = dense(1);
  const student = dense(2);
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
  const distiller = new layers.Distiller({ teacher, student, ...methods.kd.recipe() });
  const { total } = distiller.step(x, y);
  distiller.dispose();
  tf.dispose([x, y]);
  teacher.dispose();
  student.dispose();
  if (!Number.isFinite(total)) throw new Error(`${label}: a KD recipe step gave ${total}`);
  console.log(`${label} @relkd/layers/methods + recipes/{${methodNames.join(',')}}: ok`);
}

/**
 * `@relkd/teacher-outputs` (main and `/node` entries, when given): a `.npy` encode/decode round
 * trip; a tiny teacher's logits exported to a directory in two shards, read back by row (equal to
 * the teacher's own logits on those rows), refused for other labels (`DATASET_MISMATCH`), and
 * used by `@relkd/layers`' Distiller as an offline teacher for one KD epoch (finite loss).
 */
async function teacherOutputsRoundTrip(mods, label) {
  const { tf, tfl, layers, layersMethods, teacherOutputs, teacherOutputsNode } = mods;
  if (teacherOutputs === undefined || teacherOutputsNode === undefined) return;
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const npy = teacherOutputs.decodeNpy(
    teacherOutputs.encodeNpy(new Float32Array([1.5, -2, 3.25, 0]), [2, 2], 'float32'),
    'smoke.npy',
  );
  if (npy.shape.join('x') !== '2x2' || Array.from(npy.data).join(',') !== '1.5,-2,3.25,0')
    throw new Error(`${label}: .npy round trip gave ${npy.shape} ${Array.from(npy.data)}`);
  const dense = (seed) =>
    tfl.sequential({
      layers: [
        tfl.layers.dense({
          inputShape: [4],
          units: 3,
          kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        }),
      ],
    });
  const teacher = dense(1);
  const student = dense(2);
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3);
  const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
  const labels = Array.from(y.dataSync());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relkd-smoke-outputs-'));
  try {
    await teacherOutputsNode.exportTeacherOutputs(dir, (b) => teacher.predict(b), x, {
      datasetName: 'smoke',
      labels,
      shardRows: 4,
    });
    const outputs = await teacherOutputsNode.TeacherOutputs.open(
      teacherOutputsNode.fromDirectory(dir),
    );
    if (outputs.rowCount !== 6) throw new Error(`${label}: ${outputs.rowCount} rows, not 6`);
    const rows = [5, 0, 2];
    const { logits } = await outputs.gather(rows);
    const live = tf.tidy(() => teacher.predict(tf.gather(x, tf.tensor1d(rows, 'int32'))));
    const a = logits.dataSync();
    const b = live.dataSync();
    if (logits.shape.join('x') !== '3x3') throw new Error(`${label}: gathered ${logits.shape}`);
    for (let i = 0; i < a.length; i++) close(a[i], b[i], 1e-6, `${label} teacher-outputs logits`);
    tf.dispose([logits, live]);
    let code;
    try {
      await outputs.check({ rows: 6, labels: [1, 1, 2, 0, 1, 2] });
    } catch (e) {
      code = e.code;
    }
    if (code !== 'DATASET_MISMATCH')
      throw new Error(`${label}: other labels gave ${code}, not DATASET_MISMATCH`);
    if (layersMethods !== undefined) {
      const distiller = new layers.Distiller({
        teacher: outputs,
        student,
        ...layersMethods.methods.kd.recipe(),
      });
      if (distiller.offlineTeacher !== outputs)
        throw new Error(
          `${label}: the Distiller did not take TeacherOutputs as an offline teacher`,
        );
      const history = await distiller.fit({ x, y }, { epochs: 1, batchSize: 3 });
      distiller.dispose();
      const total = history.epochs[0].loss.total;
      if (!Number.isFinite(total)) throw new Error(`${label}: an offline KD epoch gave ${total}`);
    }
  } finally {
    tf.dispose([x, y]);
    teacher.dispose();
    student.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${label} @relkd/teacher-outputs(/node): export + read + offline KD epoch ok`);
}

async function runSmoke(mods, label) {
  const { tf, backend } = mods;
  const results = {};
  for (const name of ['cpu', 'wasm']) {
    const info = await backend.useBackend(name);
    if (tf.getBackend() !== name || info.gradients !== true)
      throw new Error(`useBackend(${name}) failed`);
    const before = tf.memory().numTensors;
    // kdLoss = T^2 * batchmean KL(softmax(t/T) || softmax(s/T)); value checked against float64 numpy.
    const golden = tf.tidy(() => {
      const s = tf.tensor2d([
        [1, 2, 3],
        [0, -1, 2],
      ]);
      const t = tf.tensor2d([
        [3, 2, 1],
        [1, 1, 1],
      ]);
      return mods.core.kdLoss(s, t, { temperature: 2 }).dataSync()[0];
    });
    close(golden, 1.0384929932, 1e-5, `${label}/${name} kdLoss golden`);
    for (const [pkg, check] of Object.entries(checks(mods))) {
      const [value, gradNorm] = tf.tidy(() => check());
      if (!Number.isFinite(value) || !Number.isFinite(gradNorm))
        throw new Error(`${label}/${name} ${pkg}: non-finite ${value} / ${gradNorm}`);
      results[`${pkg}/${name}`] = [value, gradNorm];
      if (name === 'wasm') {
        const [cv, cg] = results[`${pkg}/cpu`];
        close(value, cv, 1e-4, `${label} ${pkg}: wasm vs cpu value`);
        close(gradNorm, cg, 1e-3, `${label} ${pkg}: wasm vs cpu gradient norm`);
      }
      console.log(
        `${label} ${name} ${pkg}: value ${value.toFixed(6)}, |grad|² ${gradNorm.toFixed(6)}`,
      );
    }
    tf.disposeVariables();
    if (tf.memory().numTensors !== before)
      throw new Error(`${label}/${name}: ${tf.memory().numTensors - before} tensors leaked`);
  }
  recipeSubpaths(mods, label);
  await fileRoundTrip(mods, label);
  await teacherOutputsRoundTrip(mods, label);
  console.log(`${label}: all packages ok on cpu and wasm`);
}

module.exports = { runSmoke, close };
