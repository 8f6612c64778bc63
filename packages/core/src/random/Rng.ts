import { assertNumber } from '../validation/validation';

/**
 * A small, fast, seeded pseudo-random generator (sfc32 seeded through splitmix32). Every relkd
 * package draws from it, so results are identical on every backend and platform for a seed.
 * Not cryptographic.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.next();      // uniform in [0, 1)
 * rng.int(10);     // integer in [0, 10)
 * rng.normal();    // standard normal
 * rng.gamma(2);    // Gamma(shape 2, scale 1)
 * ```
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  /** @param seed any finite number; equal seeds give equal streams. */
  constructor(seed: number) {
    assertNumber(seed, 'seed');
    let s = (Math.floor(seed) ^ Math.floor((seed % 1) * 4294967296)) >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in `[0, 1)` with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in `[0, n)`; `n` must be a positive integer. */
  int(n: number): number {
    assertNumber(n, 'n', { min: 1, integer: true });
    return Math.floor(this.next() * n);
  }

  /** Standard normal variate (Box–Muller, the second value of each pair is cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Gamma(shape, 1) variate: Marsaglia–Tsang for `shape >= 1`, and the boost
   * `Gamma(shape + 1) · U^(1/shape)` below 1. `shape` must be > 0.
   */
  gamma(shape: number): number {
    assertNumber(shape, 'shape', { min: 0, exclusiveMin: true });
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.next();
      return this.gamma(shape + 1) * u ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Fisher–Yates shuffle of `[0, n)`. */
  permutation(n: number): number[] {
    assertNumber(n, 'n', { min: 0, integer: true });
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
    }
    return p;
  }
}
