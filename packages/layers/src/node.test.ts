import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelkdError, type RelkdErrorCode } from '@relkd/core';
import { BACKENDS, expectClose, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Distiller } from './Distiller';
// The entry under test: importing it registers the file:// routers.
import { fileSystem, loadFromDirectory, registerFileRouters, saveToDirectory } from './node';
import { type FileOps, nodeFileOps, saveWith } from './node/files';

const FIXTURE = fileURLToPath(new URL('./node/fixtures/tfjs-node-dense', import.meta.url));

let root = '';
let uid = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'relkd-node-io-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
const fresh = (name: string) => join(root, `${name}-${uid++}`);

function model(seed: number): tfl.LayersModel {
  const p = `io${uid++}_`;
  return tfl.sequential({
    layers: [
      tfl.layers.dense({
        inputShape: [5],
        units: 6,
        activation: 'relu',
        name: `${p}d1`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        biasInitializer: tfl.initializers.randomNormal({ seed: seed + 1 }),
      }),
      tfl.layers.batchNormalization({ name: `${p}bn` }),
      tfl.layers.dense({
        units: 3,
        name: `${p}out`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

function bits(m: tfl.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(new Uint32Array(w.dataSync().slice().buffer)));
}

async function expectRejection(p: () => Promise<unknown>, code: RelkdErrorCode): Promise<Error> {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await p();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a RelkdError').toBeInstanceOf(RelkdError);
  expect((caught as RelkdError).code).toBe(code);
  expect(tf.memory().numTensors, 'live tensors after the failure').toBe(before);
  return caught as Error;
}

/** Names in `dir` other than the model's two files (temporary or backup files left behind). */
function leftovers(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir).filter((f) => f !== 'model.json' && f !== 'weights.bin')
    : [];
}

describe.each(BACKENDS)('@relkd/layers/node file:// IO on %s', (backend) => {
  beforeAll(() => useTestBackend(backend));

  it('registers one file:// load router and one save router (idempotent)', () => {
    expect(registerFileRouters()).toBe(true);
    expect(registerFileRouters()).toBe(true);
    expect(tf.io.getLoadHandlers('file:///any/model.json')).toHaveLength(1);
    expect(tf.io.getSaveHandlers('file:///any/dir')).toHaveLength(1);
    expect(tf.io.getSaveHandlers('other-scheme://x')).toHaveLength(0);
    expect(tf.io.getLoadHandlers(['file://a.pb', 'file://b.json'])).toHaveLength(0);
  });

  it('round-trips a LayersModel through model.save(file://) and tfl.loadLayersModel(file://)', async () => {
    const m = model(3);
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 9);
    // non-trivial BatchNorm moving statistics
    const bn = m.layers[1]!;
    bn.setWeights(bn.getWeights().map((w, i) => tf.fill(w.shape, i === 3 ? 2.5 : 0.3 + i)));
    const dir = fresh('round');
    const result = await m.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.modelTopologyType).toBe('JSON');
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    // tfjs-node's layout: these keys in this order, one weights group in weights.bin
    expect(Object.keys(json)).toEqual([
      'modelTopology',
      'weightsManifest',
      'format',
      'generatedBy',
      'convertedBy',
    ]);
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.format).toBe('layers-model');
    const before = tf.memory().numTensors;
    for (const url of [`file://${dir}/model.json`, `file://${dir}`]) {
      const back = await tfl.loadLayersModel(url);
      expect(bits(back)).toEqual(bits(m));
      const [a, b] = tf.tidy(() => [m.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor]);
      expect(Array.from(b!.dataSync())).toEqual(Array.from(a!.dataSync()));
      tf.dispose([a!, b!]);
      back.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    // the explicit handler and the plain functions agree with the routers
    const again = await tfl.loadLayersModel(fileSystem(dir));
    expect(bits(again)).toEqual(bits(m));
    again.dispose();
    const dir2 = fresh('plain');
    await m.save(tf.io.withSaveHandler((a) => saveToDirectory(dir2, a)));
    expect(readFileSync(join(dir2, 'weights.bin'))).toEqual(readFileSync(join(dir, 'weights.bin')));
    expect((await loadFromDirectory(dir2)).weightSpecs).toEqual(json.weightsManifest[0].weights);
    m.dispose();
    x.dispose();
  });

  it('overwrites a model in place and leaves no temporary files', async () => {
    const dir = fresh('overwrite');
    const a = model(5);
    const b = model(6);
    await a.save(`file://${dir}`);
    await b.save(`file://${dir}`);
    expect(leftovers(dir)).toEqual([]);
    const back = await tfl.loadLayersModel(`file://${dir}/model.json`);
    expect(bits(back)).toEqual(bits(b));
    for (const m of [a, b, back]) m.dispose();
  });

  it('reads a model in the layout tfjs-node writes (committed fixture)', async () => {
    // src/node/fixtures/tfjs-node-dense was written by fixtures/make-fixture.mjs, which mirrors
    // tfjs-node 4.22's NodeFileSystem.save: model.json with modelTopology, weightsManifest
    // [{ paths: ['weights.bin'], weights }], format, generatedBy, convertedBy (null),
    // trainingConfig and userDefinedMetadata; weights.bin with the raw weight data (including
    // the optimizer's `iter`, saved with includeOptimizer).
    const m = await tfl.loadLayersModel(`file://${FIXTURE}/model.json`);
    const w = m.getWeights().map((t) => Array.from(t.dataSync()));
    const k1 = Array.from({ length: 12 }, (_, i) => (i - 5) / 10);
    expectClose(w[0]!, k1);
    expectClose(w[1]!, [0.1, -0.2, 0.3]);
    expectClose(w[2]!, [0.5, -0.5, 1, 0, -1, 2]);
    expectClose(w[3]!, [0, 0.25]);
    expect(m.getUserDefinedMetadata()).toEqual({
      purpose: 'relkd fixture: tfjs-node file:// layout',
    });
    expect(m.optimizer).toBeDefined(); // trainingConfig was read and the model compiled
    // prediction = relu(x K1 + b1) K2 + b2, computed here in plain JS
    const x = [1, -2, 0.5, 3];
    const h = [0, 1, 2].map((j) =>
      Math.max(0, x.reduce((s, xi, i) => s + xi * k1[i * 3 + j]!, 0) + [0.1, -0.2, 0.3][j]!),
    );
    const k2 = [0.5, -0.5, 1, 0, -1, 2];
    const expected = [0, 1].map(
      (j) => h.reduce((s, hi, i) => s + hi * k2[i * 2 + j]!, 0) + [0, 0.25][j]!,
    );
    const y = tf.tidy(() => m.predict(tf.tensor2d([x])) as tf.Tensor);
    expectClose(y, expected);
    y.dispose();
    m.dispose();
    const artifacts = await loadFromDirectory(FIXTURE);
    expect(artifacts.trainingConfig?.loss).toBe('categorical_crossentropy');
    expect(artifacts.weightSpecs?.map((s) => s.name)).toContain('iter');
  });

  it('missing or corrupt files throw RelkdError IO_ERROR naming the path', async () => {
    const good = fresh('good');
    const m = model(7);
    await m.save(`file://${good}`);
    m.dispose();
    const copy = (name: string) => {
      const d = fresh(name);
      mkdirSync(d);
      for (const f of ['model.json', 'weights.bin'])
        writeFileSync(join(d, f), readFileSync(join(good, f)));
      return d;
    };
    const load = (p: string) => () => tfl.loadLayersModel(`file://${p}`);

    const nowhere = fresh('nowhere');
    const e1 = await expectRejection(load(nowhere), 'IO_ERROR');
    expect(e1.message).toContain(nowhere);

    const empty = fresh('empty');
    mkdirSync(empty);
    expect((await expectRejection(load(empty), 'IO_ERROR')).message).toMatch(/model\.json/);

    const notJson = copy('notjson');
    writeFileSync(join(notJson, 'model.json'), '{"modelTopology": {"class_name": "Seq');
    expect((await expectRejection(load(notJson), 'IO_ERROR')).message).toMatch(/not valid JSON/);

    const badManifest = copy('manifest');
    const json = JSON.parse(readFileSync(join(badManifest, 'model.json'), 'utf8'));
    writeFileSync(
      join(badManifest, 'model.json'),
      JSON.stringify({ ...json, weightsManifest: { paths: 'weights.bin' } }),
    );
    expect((await expectRejection(load(badManifest), 'IO_ERROR')).message).toMatch(
      /weightsManifest/,
    );

    const noWeights = copy('noweights');
    rmSync(join(noWeights, 'weights.bin'));
    expect((await expectRejection(load(noWeights), 'IO_ERROR')).message).toMatch(
      /weights\.bin.*does not exist/,
    );

    const truncated = copy('truncated');
    truncateSync(join(truncated, 'weights.bin'), 10);
    expect((await expectRejection(load(truncated), 'IO_ERROR')).message).toMatch(
      /10 bytes.*manifest describes/,
    );

    // the Distiller's own load goes through the same reader
    const d = new Distiller({ student: model(8) });
    await expectRejection(() => d.load(truncated), 'IO_ERROR');
    await expectRejection(() => d.load(`file://${nowhere}`), 'IO_ERROR');
    // saving onto a file is an IO_ERROR too
    const file = join(root, `a-file-${uid++}`);
    writeFileSync(file, 'x');
    await expectRejection(() => d.save(file), 'IO_ERROR');
  });

  it('a save that fails mid-way leaves no half-written model (old model kept, no temp files)', async () => {
    const real = await nodeFileOps();
    /** Fails the n-th call of `op` (writes half of the data first for writeFile). */
    const failing = (op: 'writeFile' | 'rename', n: number): FileOps => {
      let calls = 0;
      return {
        ...real,
        writeFile: async (p, data) => {
          if (op === 'writeFile' && ++calls === n) {
            await real.writeFile(p, typeof data === 'string' ? data.slice(0, 7) : data.slice(0, 5));
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          }
          return real.writeFile(p, data);
        },
        rename: async (from, to) => {
          if (op === 'rename' && ++calls === n) throw new Error('EIO: i/o error, rename');
          return real.rename(from, to);
        },
      };
    };
    const oldModel = model(11);
    const newModel = model(12);
    const artifactsOf = async (m: tfl.LayersModel) => {
      let a: tf.io.ModelArtifacts | undefined;
      await m.save(
        tf.io.withSaveHandler(async (x) => {
          a = x;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      return a!;
    };
    const next = await artifactsOf(newModel);
    // weights temp write fails, json temp write fails, and each of the three renames fails
    const faults: Array<[string, () => FileOps]> = [
      ['write weights', () => failing('writeFile', 1)],
      ['write model.json', () => failing('writeFile', 2)],
      ['move old weights aside', () => failing('rename', 1)],
      ['move new weights in', () => failing('rename', 2)],
      ['move model.json in', () => failing('rename', 3)],
    ];
    for (const [what, ops] of faults) {
      const dir = fresh('atomic');
      await oldModel.save(`file://${dir}`);
      const oldJson = readFileSync(join(dir, 'model.json'));
      const oldBin = readFileSync(join(dir, 'weights.bin'));
      const err = await expectRejection(() => saveWith(ops(), dir, next), 'IO_ERROR');
      expect(err.message, what).toContain(dir);
      expect(leftovers(dir), what).toEqual([]);
      expect(readFileSync(join(dir, 'model.json')).equals(oldJson), what).toBe(true);
      expect(readFileSync(join(dir, 'weights.bin')).equals(oldBin), what).toBe(true);
      const back = await tfl.loadLayersModel(`file://${dir}`);
      expect(bits(back), what).toEqual(bits(oldModel));
      back.dispose();
    }
    // into a new directory (no old weights to move aside: two renames): nothing is left
    for (const ops of [
      failing('writeFile', 1),
      failing('writeFile', 2),
      failing('rename', 1),
      failing('rename', 2),
    ]) {
      const empty = fresh('atomic-new');
      await expectRejection(() => saveWith(ops, empty, next), 'IO_ERROR');
      expect(readdirSync(empty)).toEqual([]);
    }
    oldModel.dispose();
    newModel.dispose();
  });
});

describe('when tfjs-node registers its file:// routers after relkd', () => {
  it("relkd's routers step aside: one handler per URL, tfjs-node's", async () => {
    const theirs: tf.io.IOHandler = { load: async () => ({}), save: async () => ({}) as never };
    const router = (url: string | string[]) =>
      typeof url === 'string' && url.startsWith('file://') ? theirs : null;
    tf.io.registerLoadRouter(router as never);
    tf.io.registerSaveRouter(router as never);
    expect(tf.io.getLoadHandlers('file:///a/model.json')).toEqual([theirs]);
    expect(tf.io.getSaveHandlers('file:///a')).toEqual([theirs]);
  });
});
