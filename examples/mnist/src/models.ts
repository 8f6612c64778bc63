import * as tfl from '@tensorflow/tfjs-layers';

/** A model and the layer names of its stage outputs (NHWC, shallow to deep). */
export interface Net {
  model: tfl.LayersModel;
  stages: string[];
}

/** Which teacher/student pair: `'3stage'` (default) or the earlier 2-stage pair (`'2stage'`). */
export type Arch = '3stage' | '2stage';

/** What a model needs to know about the data set: image size and number of classes. */
export interface ModelShape {
  height: number;
  width: number;
  numClasses: number;
}

/** MNIST's shape. */
export const MNIST_SHAPE: ModelShape = { height: 28, width: 28, numClasses: 10 };

/** Smallest and largest image side the models accept (three stride-2 poolings, memory). */
export const MIN_SIDE = 8;
export const MAX_SIDE = 128;

function init(seed: number) {
  return tfl.initializers.heNormal({ seed });
}

/** conv 3x3 'same' + ReLU -> max-pool 2x2 ('same' padding: 7 -> 4); the pool is the stage output. */
function convStage(
  prefix: string,
  k: number,
  filters: number,
  seed: number,
  inputShape?: [number, number, number],
): tfl.layers.Layer[] {
  return [
    tfl.layers.conv2d({
      ...(inputShape === undefined ? {} : { inputShape }),
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      name: `${prefix}_conv${k}`,
      kernelInitializer: init(seed + k),
    }),
    tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same', name: `${prefix}_pool${k}` }),
  ];
}

/**
 * The teacher. `'3stage'` (default): conv 16 -> pool -> conv 32 -> pool -> conv 64 -> pool ->
 * flatten -> dropout 0.3 -> dense 128 -> dense C (≈ 0.16 M parameters on 28x28); stages
 * `pool1..3` ([14,14,16], [7,7,32], [4,4,64] on MNIST). `'2stage'`: the earlier teacher (conv 16 ->
 * pool -> conv 32 -> pool -> dense 64 -> dense C), stages `pool1`, `pool2`.
 */
export function buildTeacher(
  seed: number,
  prefix = 't',
  arch: Arch = '3stage',
  shape = MNIST_SHAPE,
): Net {
  const inputShape: [number, number, number] = [shape.height, shape.width, 1];
  const widths = arch === '3stage' ? [16, 32, 64] : [16, 32];
  const hidden = arch === '3stage' ? 128 : 64;
  const model = tfl.sequential({
    name: `${prefix}_teacher`,
    layers: [
      ...widths.flatMap((w, i) =>
        convStage(prefix, i + 1, w, seed, i === 0 ? inputShape : undefined),
      ),
      tfl.layers.flatten({ name: `${prefix}_flat` }),
      tfl.layers.dropout({ rate: 0.3, seed, name: `${prefix}_drop` }),
      tfl.layers.dense({
        units: hidden,
        activation: 'relu',
        name: `${prefix}_fc`,
        kernelInitializer: init(seed + 10),
      }),
      tfl.layers.dense({
        units: shape.numClasses,
        name: `${prefix}_logits`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 11 }),
      }),
    ],
  });
  return { model, stages: widths.map((_, i) => `${prefix}_pool${i + 1}`) };
}

let studentCount = 0;

/**
 * The student, the same for every method. `'3stage'` (default): conv 8 -> pool -> conv 32 -> pool
 * -> conv 64 -> pool -> global average pool -> dense C (≈ 22 k parameters, 28 -> 14 -> 7 -> 4);
 * stages `pool1..3`. `'2stage'`: the earlier student (conv 8 -> pool -> conv 16 -> pool -> flatten ->
 * dense C, ≈ 9 k parameters). Layer names get a unique prefix so several students can live in one
 * process.
 */
export function buildStudent(seed: number, arch: Arch = '3stage', shape = MNIST_SHAPE): Net {
  const p = `s${studentCount++}`;
  const inputShape: [number, number, number] = [shape.height, shape.width, 1];
  const widths = arch === '3stage' ? [8, 32, 64] : [8, 16];
  const model = tfl.sequential({
    name: `${p}_student`,
    layers: [
      ...widths.flatMap((w, i) => convStage(p, i + 1, w, seed, i === 0 ? inputShape : undefined)),
      arch === '3stage'
        ? tfl.layers.globalAveragePooling2d({ name: `${p}_gap` })
        : tfl.layers.flatten({ name: `${p}_flat` }),
      tfl.layers.dense({
        units: shape.numClasses,
        name: `${p}_logits`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 10 }),
      }),
    ],
  });
  return { model, stages: widths.map((_, i) => `${p}_pool${i + 1}`) };
}
