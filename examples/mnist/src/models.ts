import * as tfl from '@tensorflow/tfjs-layers';

/** Stage layer names (NHWC outputs after each pooling) used by MTKD-SSR and CORSD. */
export interface Net {
  model: tfl.LayersModel;
  stages: string[];
}

function init(seed: number) {
  return tfl.initializers.heNormal({ seed });
}

/**
 * The CNN teacher: conv 3x3x32 -> pool -> conv 3x3x64 -> pool -> dense 128 -> dense 10
 * (≈ 0.42 M parameters). Stages: `t_pool1` [14,14,32], `t_pool2` [7,7,64].
 */
export function buildTeacher(seed: number, prefix = 't'): Net {
  const model = tfl.sequential({
    name: `${prefix}_teacher`,
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${prefix}_conv1`,
        kernelInitializer: init(seed + 1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: `${prefix}_pool1` }),
      tfl.layers.conv2d({
        filters: 32,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${prefix}_conv2`,
        kernelInitializer: init(seed + 2),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: `${prefix}_pool2` }),
      tfl.layers.flatten({ name: `${prefix}_flat` }),
      tfl.layers.dropout({ rate: 0.3, seed, name: `${prefix}_drop` }),
      tfl.layers.dense({
        units: 64,
        activation: 'relu',
        name: `${prefix}_fc`,
        kernelInitializer: init(seed + 3),
      }),
      tfl.layers.dense({
        units: 10,
        name: `${prefix}_logits`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 4 }),
      }),
    ],
  });
  return { model, stages: [`${prefix}_pool1`, `${prefix}_pool2`] };
}

let studentCount = 0;

/**
 * The small student: conv 3x3x8 -> pool -> conv 3x3x16 -> pool -> dense 10 (≈ 9 k parameters,
 * ~2% of the teacher). Stages: `pool1` [14,14,8], `pool2` [7,7,16]. Layer names get a unique
 * prefix so several students can live in one process.
 */
export function buildStudent(seed: number): Net {
  const p = `s${studentCount++}`;
  const model = tfl.sequential({
    name: `${p}_student`,
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${p}_conv1`,
        kernelInitializer: init(seed + 1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: `${p}_pool1` }),
      tfl.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `${p}_conv2`,
        kernelInitializer: init(seed + 2),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: `${p}_pool2` }),
      tfl.layers.flatten({ name: `${p}_flat` }),
      tfl.layers.dense({
        units: 10,
        name: `${p}_logits`,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 3 }),
      }),
    ],
  });
  return { model, stages: [`${p}_pool1`, `${p}_pool2`] };
}
