import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** An IDX file: unsigned-byte type, big-endian dims, then the data. */
export function idx(type: number, dims: number[], data: ArrayLike<number>): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data as ArrayLike<number>, header.length);
  return out;
}

/**
 * Writes a tiny learnable IDX data set into a new temporary folder: `classes` classes of
 * `size`x`size` images, class `c` a bright square at a class-specific position plus seeded noise.
 */
export function writeTinyIdx(options: {
  size: number;
  classes: number;
  train: number;
  test: number;
  gzip?: boolean;
  seed?: number;
}): string {
  const { size, classes, train, test, gzip = false, seed = 1 } = options;
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const make = (n: number) => {
    const images = new Uint8Array(n * size * size);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % classes;
      labels[i] = c;
      const cx = Math.floor(((c + 0.5) / classes) * (size - 4));
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const on = x >= cx && x < cx + 4 && y >= 2 && y < 6;
          images[i * size * size + y * size + x] = on
            ? 200 + Math.floor(rand() * 55)
            : Math.floor(rand() * 40);
        }
    }
    return { images, labels };
  };
  const dir = mkdtempSync(join(tmpdir(), 'relkd-idx-'));
  const write = (name: string, bytes: Uint8Array) =>
    writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  for (const [prefix, n] of [
    ['train', train],
    ['t10k', test],
  ] as const) {
    const d = make(n);
    write(`${prefix}-images-idx3-ubyte`, idx(8, [n, size, size], d.images));
    write(`${prefix}-labels-idx1-ubyte`, idx(8, [n], d.labels));
  }
  return dir;
}
