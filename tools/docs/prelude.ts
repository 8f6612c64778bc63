/**
 * The hidden prelude of the docs check (tools/docs/extract.ts): every ```ts block that is not
 * marked `standalone` runs after this module, which selects a backend and declares the names a
 * doc may use without defining them. They stand for "your models and your data", tiny so that a
 * block runs in a second or two:
 *
 * - `teacher`, `student`: `tf.LayersModel`s (tfjs-layers), input `[28, 28, 1]` (NHWC, MNIST-like),
 *   output: `[B, 10]` **logits**. Layers: teacher `t_conv1 t_pool1 t_conv2 t_pool2 t_conv3 t_pool3
 *   t_flatten t_logits` (stages `[14, 14, 8]`, `[7, 7, 16]`, `[4, 4, 32]`); student `s_conv1 s_bn1
 *   s_relu1 s_pool1 s_conv2 s_pool2 s_conv3 s_pool3 s_flatten s_dropout s_logits` (stages
 *   `[14, 14, 4]`, `[7, 7, 8]`, `[4, 4, 16]`).
 * - `x`: `[32, 28, 28, 1]` float32 images in [0, 1]; `y`: `[32]` int32 labels `i % 10` (every
 *   class present); `xTest`, `yTest`: 16 more.
 * - `batches`: `x`, `y` in 2 batches of 16, as `{ xs, ys }`.
 * - The working directory (empty, one per block) holds `teacher/model.json` + `teacher/weights.bin`:
 *   `teacher` saved in tfjs' layout (written here with plain `fs`, so no `file://` handler is
 *   registered for the block), for docs that load a model from disk.
 *
 * The backend is `useBackend('auto')` (WASM in Node unless tfjs-node is installed). A block may
 * shadow any of these names with its own declaration. Keep this list short and documented in
 * docs/contributing.md: a doc that needs anything else defines it where the reader can see it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { useBackend } from '@relkd/backend';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

declare global {
  // `var`: a global declaration (a block's own `const x` shadows it)
  var teacher: tfl.LayersModel;
  var student: tfl.LayersModel;
  var x: tf.Tensor4D;
  var y: tf.Tensor1D;
  var xTest: tf.Tensor4D;
  var yTest: tf.Tensor1D;
  var batches: { xs: tf.Tensor4D; ys: tf.Tensor1D }[];
}

await useBackend('auto');

const NUM_CLASSES = 10;
let seed = 1;
const init = () => tfl.initializers.glorotUniform({ seed: seed++ });
const conv = (name: string, filters: number, activation: 'relu' | 'linear' = 'relu') =>
  tfl.layers.conv2d({
    name,
    filters,
    kernelSize: 3,
    padding: 'same',
    activation,
    kernelInitializer: init(),
  });
const pool = (name: string) => tfl.layers.maxPooling2d({ name, poolSize: 2, padding: 'same' });

globalThis.teacher = tfl.sequential({
  name: 'teacher',
  layers: [
    tfl.layers.inputLayer({ inputShape: [28, 28, 1] }),
    conv('t_conv1', 8),
    pool('t_pool1'),
    conv('t_conv2', 16),
    pool('t_pool2'),
    conv('t_conv3', 32),
    pool('t_pool3'),
    tfl.layers.flatten({ name: 't_flatten' }),
    tfl.layers.dense({ name: 't_logits', units: NUM_CLASSES, kernelInitializer: init() }),
  ],
});

globalThis.student = tfl.sequential({
  name: 'student',
  layers: [
    tfl.layers.inputLayer({ inputShape: [28, 28, 1] }),
    conv('s_conv1', 4, 'linear'),
    tfl.layers.batchNormalization({ name: 's_bn1' }),
    tfl.layers.activation({ name: 's_relu1', activation: 'relu' }),
    pool('s_pool1'),
    conv('s_conv2', 8),
    pool('s_pool2'),
    conv('s_conv3', 16),
    pool('s_pool3'),
    tfl.layers.flatten({ name: 's_flatten' }),
    tfl.layers.dropout({ name: 's_dropout', rate: 0.1, seed: 7 }),
    tfl.layers.dense({ name: 's_logits', units: NUM_CLASSES, kernelInitializer: init() }),
  ],
});

const images = (n: number, s: number) => tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', s);
const labels = (n: number) =>
  tf.tensor1d(
    Array.from({ length: n }, (_, i) => i % NUM_CLASSES),
    'int32',
  );

globalThis.x = images(32, 11) as tf.Tensor4D;
globalThis.y = labels(32);
globalThis.xTest = images(16, 12) as tf.Tensor4D;
globalThis.yTest = labels(16);
globalThis.batches = [0, 16].map((start) => ({
  xs: tf.slice(globalThis.x, start, 16),
  ys: tf.slice(globalThis.y, start, 16),
}));

await globalThis.teacher.save(
  tf.io.withSaveHandler(async (artifacts) => {
    const { modelTopology, format, generatedBy, convertedBy, weightSpecs, weightData } = artifacts;
    const buffers = weightData === undefined ? [] : [weightData].flat();
    mkdirSync('teacher', { recursive: true });
    writeFileSync('teacher/weights.bin', Buffer.concat(buffers.map((b) => new Uint8Array(b))));
    writeFileSync(
      'teacher/model.json',
      JSON.stringify({
        modelTopology,
        format,
        generatedBy,
        convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs ?? [] }],
      }),
    );
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }),
);
