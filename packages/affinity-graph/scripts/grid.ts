/**
 * Writes docs/methods/img/vrm-views.png: real MNIST test digits (top row) and three virtual
 * views of them (seeds 1..3, DIGIT_SAFE_OPS, numOps 2, magnitude 9 on torchvision's 0..30 scale),
 * scaled 3x.
 * The PNG is encoded here with node:zlib (greyscale, 8 bit), no image library needed.
 *
 * Run from the repo root: npx tsx packages/affinity-graph/scripts/grid.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { loadMnist } from '../../../examples/mnist/src/idx';
import { encodePng } from '../../../tools/png';
import { DIGIT_SAFE_OPS, virtualView } from '../src/index';

const COUNT = 10;
const SEEDS = [1, 2, 3];
const SCALE = 3;
const GAP = 4;

/** The first `n` MNIST test digits in [0, 1] (the example's validating IDX parser). */
function readMnist(n: number): Float32Array {
  return Float32Array.from(loadMnist().test.images.subarray(0, 784 * n), (v) => v / 255);
}

await tf.setBackend('cpu');
const real = tf.tensor4d(readMnist(COUNT), [COUNT, 28, 28, 1]);
const rows = [real, ...SEEDS.map((seed) => virtualView(real, { seed, ops: DIGIT_SAFE_OPS }))];
const tile = 28 * SCALE;
const width = COUNT * tile + (COUNT + 1) * GAP;
const height = rows.length * tile + (rows.length + 1) * GAP;
const img = new Uint8Array(width * height).fill(128);
rows.forEach((t, r) => {
  const v = t.dataSync();
  for (let i = 0; i < COUNT; i++) {
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const val = v[i * 784 + Math.floor(y / SCALE) * 28 + Math.floor(x / SCALE)]!;
        const py = GAP + r * (tile + GAP) + y;
        const px = GAP + i * (tile + GAP) + x;
        img[py * width + px] = Math.round(Math.min(1, Math.max(0, val)) * 255);
      }
    }
  }
});
const out = join(
  dirname(new URL(import.meta.url).pathname),
  '../../../docs/methods/img/vrm-views.png',
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, encodePng(width, height, 1, img));
console.log(`wrote ${out} (${width}x${height}; rows: real, virtual seeds ${SEEDS.join(', ')})`);
