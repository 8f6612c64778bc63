import * as tf from '@tensorflow/tfjs-core';

/** The MNIST subset served from public/data (written by scripts/make-data.mjs). */
export interface Mnist {
  trainX: tf.Tensor2D; // [N, 784] in [0, 1]
  trainY: tf.Tensor1D; // [N] int32
  testX: tf.Tensor2D;
  testY: tf.Tensor1D;
  numTrain: number;
}

async function bytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok)
    throw new Error(
      `could not load ${url}: HTTP ${res.status} (run \`npm run data\` in examples/browser)`,
    );
  return new Uint8Array(await res.arrayBuffer());
}

/** Loads the subset and keeps it on the active backend. */
export async function loadMnist(base = 'data'): Promise<Mnist> {
  const meta = (await (await fetch(`${base}/meta.json`)).json()) as { train: number; test: number };
  const [trX, trY, teX, teY] = await Promise.all(
    ['train-images', 'train-labels', 'test-images', 'test-labels'].map((f) =>
      bytes(`${base}/${f}.u8`),
    ),
  );
  const images = (b: Uint8Array, n: number): tf.Tensor2D =>
    tf.tidy(
      () => tf.div(tf.cast(tf.tensor2d(b, [n, 784], 'int32'), 'float32'), 255) as tf.Tensor2D,
    );
  return {
    trainX: images(trX!, meta.train),
    trainY: tf.tensor1d(trY!, 'int32'),
    testX: images(teX!, meta.test),
    testY: tf.tensor1d(teY!, 'int32'),
    numTrain: meta.train,
  };
}

/** A seeded minibatch (indices drawn on the CPU; gather on the device). */
export function batch(data: Mnist, indices: number[]): { x: tf.Tensor2D; y: tf.Tensor1D } {
  return tf.tidy(() => {
    const idx = tf.tensor1d(indices, 'int32');
    return {
      x: tf.gather(data.trainX, idx) as tf.Tensor2D,
      y: tf.gather(data.trainY, idx) as tf.Tensor1D,
    };
  });
}
