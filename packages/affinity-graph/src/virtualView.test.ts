import {
  BACKENDS,
  expectClose,
  expectNoLeak,
  expectRelkdError,
  useTestBackend,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DIGIT_SAFE_OPS,
  MAX_MAGNITUDE,
  RANDAUGMENT_OPS,
  type VirtualViewOp,
  type VirtualViewOptions,
  validateVirtualViewOptions,
  virtualView,
} from './index';

const images = (b: number, h = 8, w = 8, ch = 1, seed = 1) =>
  tf.randomUniform([b, h, w, ch], 0, 1, 'float32', seed) as tf.Tensor4D;

/** A bright 2x2 square at rows 2-3, columns 2-3 of an 8x8 image. */
function square(): tf.Tensor4D {
  const d = new Float32Array(64);
  for (const [r, c] of [
    [2, 2],
    [2, 3],
    [3, 2],
    [3, 3],
  ] as const)
    d[r * 8 + c] = 1;
  return tf.tensor4d(d, [1, 8, 8, 1]);
}

describe.each(BACKENDS)('virtualView on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it('is deterministic per seed and differs across seeds', () => {
    tf.tidy(() => {
      const x = images(4, 8, 8, 3);
      const a = virtualView(x, { seed: 5 });
      const b = virtualView(x, { seed: 5 });
      const c = virtualView(x, { seed: 6 });
      expectClose(a, b, { rtol: 0, atol: 0 });
      expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBeGreaterThan(1e-3);
    });
  });

  it('preserves shape, dtype and the value range', () => {
    tf.tidy(() => {
      for (const [range, ch] of [
        [[0, 1], 1],
        [[-1, 1], 3],
        [[0, 255], 3],
      ] as const) {
        const [lo, hi] = range;
        const x = tf.add(tf.mul(images(3, 7, 9, ch, 2), hi - lo), lo) as tf.Tensor4D;
        for (const seed of [1, 2, 3]) {
          const v = virtualView(x, { seed, valueRange: range, magnitude: 30, numOps: 3 });
          expect(v.shape).toEqual(x.shape);
          expect(v.dtype).toBe('float32');
          expect(tf.min(v).dataSync()[0]).toBeGreaterThanOrEqual(lo);
          expect(tf.max(v).dataSync()[0]).toBeLessThanOrEqual(hi);
        }
      }
    });
  });

  it("the 'identity' op, magnitude 0 and numOps 0 return the input", () => {
    tf.tidy(() => {
      const x = images(3, 6, 6, 3);
      expectClose(virtualView(x, { ops: ['identity'], seed: 1 }), x, { rtol: 0, atol: 0 });
      expectClose(virtualView(x, { numOps: 0, seed: 1 }), x, { rtol: 0, atol: 0 });
      const noFlip = RANDAUGMENT_OPS.filter((o) => o !== 'posterize');
      expectClose(virtualView(x, { magnitude: 0, seed: 3, ops: noFlip }), x, { atol: 1e-6 });
    });
  });

  it("each op does what its documentation says ('tenths' scale, level = magnitude / 10)", () => {
    tf.tidy(() => {
      const one = (op: VirtualViewOp, x: tf.Tensor4D, magnitude = 10, seed = 1) =>
        virtualView(x, {
          ops: [op],
          numOps: 1,
          magnitude,
          magnitudeScale: 'tenths',
          seed,
          interpolation: 'nearest',
        });
      const sq = square();
      // translateX at level 1 on W = 8: |shift| = round(0.3 * 8) = 2.4 -> nearest: the square moves by ~2 columns
      const tx = one('translateX', sq);
      const colMass = tf.sum(tx, [0, 1, 3]).arraySync() as number[];
      const centre = colMass.reduce((s, m, i) => s + m * i, 0) / colMass.reduce((s, m) => s + m, 0);
      expect(Math.abs(Math.abs(centre - 2.5) - 2.4)).toBeLessThan(0.8);
      expectClose(tf.sum(one('translateY', sq, 10, 2)), 4, { atol: 1e-6 });
      // flips mirror exactly
      expectClose(one('flipLeftRight', sq), tf.reverse(sq, 2), { atol: 0 });
      // solarize at level 1 inverts every pixel above lo
      const x = images(2, 4, 4, 1, 9);
      expectClose(one('solarize', x), tf.sub(1, x), { atol: 1e-6 });
      // brightness: lo + f (x − lo), f = 1 ± 0.9 -> ratio 0.1 or 1.9 (clipped)
      const y = tf.mul(x, 0.5) as tf.Tensor4D;
      const br = one('brightness', y);
      const ratio = tf.div(tf.sum(br), tf.sum(y)).dataSync()[0]!;
      expect(Math.abs(ratio - 0.1) < 1e-4 || Math.abs(ratio - 1.9) < 1e-4).toBe(true);
      // contrast keeps the per-image mean when nothing clips
      const z = tf.add(tf.mul(x, 0.02), 0.5) as tf.Tensor4D;
      expectClose(tf.mean(one('contrast', z), [1, 2, 3]), tf.mean(z, [1, 2, 3]), { atol: 1e-5 });
      // posterize at level 1 keeps 4 bits: 16 levels, multiples of 16/255
      const p = tf.mul(one('posterize', x), 255 / 16);
      expectClose(p, tf.round(p), { atol: 1e-3 });
      // rotate and shear keep a centred symmetric blob roughly in place
      for (const op of ['rotate', 'shearX', 'shearY'] as const) {
        const r = one(op, sq, 5);
        expect(tf.sum(r).dataSync()[0]).toBeGreaterThan(0);
      }
    });
  });

  it('torchvision scale (default): level = magnitude / 30, translation up to 150/331 of the size', () => {
    tf.tidy(() => {
      const x = images(6, 9, 8, 3, 41);
      const view = (o: VirtualViewOptions) => virtualView(x, { numOps: 2, seed: 17, ...o });
      // every op but translation: torchvision magnitude 3k == tenths magnitude k, exactly
      const noTranslate = RANDAUGMENT_OPS.filter((o) => !o.startsWith('translate'));
      for (const k of [0, 3, 9, 10]) {
        expectClose(
          view({ ops: noTranslate, magnitude: 3 * k }),
          view({ ops: noTranslate, magnitude: k, magnitudeScale: 'tenths' }),
          { rtol: 0, atol: 1e-6, label: `magnitude ${3 * k}` },
        );
      }
      // the default is torchvision magnitude 9 (= level 0.3), not the old tenths 9 (level 0.9)
      expectClose(view({}), view({ magnitude: 9, magnitudeScale: 'torchvision' }), { atol: 0 });
      expectClose(
        view({ ops: noTranslate }),
        view({ ops: noTranslate, magnitude: 3, magnitudeScale: 'tenths' }),
        { atol: 1e-6 },
      );
      expect(
        tf.max(tf.abs(tf.sub(view({}), view({ magnitudeScale: 'tenths' })))).dataSync()[0],
      ).toBeGreaterThan(1e-2);
      expect(MAX_MAGNITUDE).toEqual({ torchvision: 30, tenths: 10 });
      // brightness at the default magnitude: f = 1 ± 0.9 · 9/30 = 0.73 or 1.27
      const y = tf.mul(images(1, 4, 4, 1, 9), 0.5) as tf.Tensor4D;
      const br = virtualView(y, { ops: ['brightness'], numOps: 1, seed: 1 });
      const ratio = tf.div(tf.sum(br), tf.sum(y)).dataSync()[0]!;
      expect(Math.abs(ratio - 0.73) < 1e-4 || Math.abs(ratio - 1.27) < 1e-4, `${ratio}`).toBe(true);
      // translation at full scale (30): ± 150/331 · W pixels (tf.image.transform semantics)
      const z = images(1, 7, 11, 1, 43);
      const tx = virtualView(z, { ops: ['translateX'], numOps: 1, seed: 2, magnitude: 30 });
      const err = Math.min(
        ...[-1, 1].map((sign) => {
          const m = [1, 0, (-sign * 150 * 11) / 331, 0, 1, 0, 0, 0];
          const ref = tf.image.transform(z, tf.tensor2d([m]), 'bilinear', 'constant', 0);
          return tf.max(tf.abs(tf.sub(ref, tx))).dataSync()[0]!;
        }),
      );
      expect(err).toBeLessThan(1e-5);
      // solarize at full scale (30) inverts every pixel above lo; posterize keeps 4 bits
      const u = images(2, 4, 4, 1, 9);
      const full = (op: VirtualViewOp) =>
        virtualView(u, { ops: [op], numOps: 1, seed: 1, magnitude: 30 });
      expectClose(full('solarize'), tf.sub(1, u), { atol: 1e-6 });
      const p = tf.mul(full('posterize'), 255 / 16);
      expectClose(p, tf.round(p), { atol: 1e-3 });
    });
  });

  it('DIGIT_SAFE_OPS: RandAugment ops without solarize and flips, usable as the op list', () => {
    expect([...DIGIT_SAFE_OPS]).toEqual(RANDAUGMENT_OPS.filter((o) => o !== 'solarize'));
    expect(DIGIT_SAFE_OPS).not.toContain('solarize');
    expect(DIGIT_SAFE_OPS).not.toContain('flipLeftRight');
    expect(Object.isFrozen(DIGIT_SAFE_OPS)).toBe(true);
    tf.tidy(() => {
      // a white-on-black stroke keeps its ink at the default magnitude (solarize would turn the
      // bright pixels dark: checked with the full list on the same draws)
      const x = tf.tile(square(), [32, 1, 1, 1]) as tf.Tensor4D;
      const peak = (ops: readonly VirtualViewOp[]) =>
        tf.min(tf.max(virtualView(x, { ops, numOps: 2, seed: 3 }), [1, 2, 3])).dataSync()[0]!;
      expect(peak(DIGIT_SAFE_OPS)).toBeGreaterThan(0.5);
      expect(peak(RANDAUGMENT_OPS)).toBeLessThan(0.5);
    });
  });

  it('each image draws its own ops (per-sample parameters)', () => {
    tf.tidy(() => {
      const x = tf.tile(images(1, 6, 6, 1, 4), [8, 1, 1, 1]) as tf.Tensor4D;
      const v = virtualView(x, { seed: 11, magnitude: 10 });
      const first = tf.slice(v, [0, 0, 0, 0], [1, 6, 6, 1]);
      const diffs = tf.max(tf.abs(tf.sub(v, first)), [1, 2, 3]).arraySync() as number[];
      expect(diffs.filter((d) => d > 1e-3).length).toBeGreaterThan(0);
    });
  });

  it('geometric ops match tf.image.transform semantics for a single image', () => {
    tf.tidy(() => {
      const x = images(1, 7, 6, 2, 31);
      for (const op of ['rotate', 'shearX', 'translateY'] as const) {
        for (const interpolation of ['bilinear', 'nearest'] as const) {
          const v = virtualView(x, {
            ops: [op],
            numOps: 1,
            seed: 4,
            magnitude: 6,
            magnitudeScale: 'tenths',
            interpolation,
          });
          // recover the sign drawn for this seed by trying both and comparing
          const candidates = [-1, 1].map((sign) => {
            const level = 0.6;
            const [cx, cy] = [2.5, 3];
            let m: number[];
            if (op === 'rotate') {
              const a = (sign * 30 * level * Math.PI) / 180;
              const [c, s] = [Math.cos(a), Math.sin(a)];
              m = [c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0, 0];
            } else if (op === 'shearX') {
              const f = sign * 0.3 * level;
              m = [1, f, -f * cy, 0, 1, 0, 0, 0];
            } else {
              m = [1, 0, 0, 0, 1, -sign * 0.3 * level * 7, 0, 0];
            }
            return tf.image.transform(x, tf.tensor2d([m]), interpolation, 'constant', 0);
          });
          const err = Math.min(
            ...candidates.map((c) => tf.max(tf.abs(tf.sub(c, v))).dataSync()[0]!),
          );
          expect(err, `${op} ${interpolation}`).toBeLessThan(1e-5);
        }
      }
    });
  });

  it('kernel count does not depend on B', async () => {
    const count = async (b: number) => {
      const x = images(b, 6, 6, 3);
      const info = await tf.profile(() => virtualView(x, { seed: 1 }));
      x.dispose();
      return info.kernels.length;
    };
    expect(await count(7)).toBe(await count(2));
  });

  it('leaks no tensor and rejects bad input', () => {
    const x = images(2);
    expectNoLeak(() => virtualView(x, { seed: 1, ops: [...RANDAUGMENT_OPS, 'flipLeftRight'] }));
    const [r3, e4, i4] = [
      tf.zeros([2, 8, 8]),
      tf.zeros([0, 8, 8, 1]),
      tf.zeros([1, 2, 2, 1], 'int32'),
    ];
    expectRelkdError(() => virtualView(r3, { seed: 1 }), 'RANK_MISMATCH');
    expectRelkdError(() => virtualView(e4, { seed: 1 }), 'EMPTY_BATCH');
    expectRelkdError(() => virtualView(i4, { seed: 1 }), 'DTYPE_MISMATCH');
    tf.dispose([r3, e4, i4]);
    expectRelkdError(() => virtualView(x, { magnitude: 31 }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { magnitude: -1 }), 'INVALID_OPTION');
    expectRelkdError(
      () => virtualView(x, { magnitude: 11, magnitudeScale: 'tenths' }),
      'INVALID_OPTION',
    );
    expectRelkdError(
      () => virtualView(x, { magnitudeScale: 'timm' as 'tenths' }),
      'INVALID_OPTION',
    );
    expect(() => virtualView(x, { magnitude: 11, seed: 1 }).dispose()).not.toThrow(); // 0..30 now
    expect(() => validateVirtualViewOptions({ magnitude: 30, ops: DIGIT_SAFE_OPS })).not.toThrow();
    expect(() => validateVirtualViewOptions({ magnitude: 31 }, 'cfg.view')).toThrow(
      /cfg\.view\.magnitude/,
    );
    expectRelkdError(() => validateVirtualViewOptions({ numOps: -1 }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { numOps: 1.5 }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { ops: [] }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { ops: ['cutout' as VirtualViewOp] }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { valueRange: [1, 0] }), 'INVALID_OPTION');
    expectRelkdError(() => virtualView(x, { seed: Number.NaN }), 'INVALID_OPTION');
    x.dispose();
  });

  it('property: any seed and magnitude keeps shape and range and gives finite values', () => {
    const x = images(3, 5, 5, 3, 21);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 0, max: 30, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        (seed, magnitude, numOps) => {
          tf.tidy(() => {
            const v = virtualView(x, {
              seed,
              magnitude,
              numOps,
              ops: [...RANDAUGMENT_OPS, 'flipLeftRight'],
            });
            expect(v.shape).toEqual(x.shape);
            expect(tf.all(tf.isFinite(v)).dataSync()[0]).toBe(1);
            expect(tf.min(v).dataSync()[0]).toBeGreaterThanOrEqual(0);
            expect(tf.max(v).dataSync()[0]).toBeLessThanOrEqual(1);
          });
        },
      ),
      { numRuns: 20, seed: 3 },
    );
    x.dispose();
  });

  // @relkd/backend registers a fused host kernel for cpu and wasm; without it (other backends, or
  // tfjs used without useBackend) virtualView composes tfjs ops. Both must give the same views.
  describe('fused kernel and composite path', () => {
    const KERNEL = 'RelkdVirtualView';
    /** Runs `fn` with the fused kernel unregistered on the current backend. */
    function composite<T>(fn: () => T): T {
      const k = tf.getKernel(KERNEL, tf.getBackend());
      expect(k, 'useBackend registers the fused view kernel').toBeDefined();
      tf.unregisterKernel(KERNEL, tf.getBackend());
      try {
        return fn();
      } finally {
        tf.registerKernel(k!);
      }
    }
    const ALL: VirtualViewOp[] = [...RANDAUGMENT_OPS, 'flipLeftRight'];

    it('the fused path runs one kernel (plus its inputs), the composite path does not', async () => {
      const x = images(4, 6, 6, 1);
      const fused = await tf.profile(() => virtualView(x, { seed: 1 }));
      expect(fused.kernels.map((k) => k.name)).toContain(KERNEL);
      const plain = await composite(() => tf.profile(() => virtualView(x, { seed: 1 })));
      expect(plain.kernels.map((k) => k.name)).not.toContain(KERNEL);
      x.dispose();
    });

    it.each([
      { name: 'each op alone, grey 9x7', ch: 1, h: 9, w: 7, range: [0, 1] as const, ops: 'each' },
      { name: 'all ops, RGB', ch: 3, h: 6, w: 8, range: [0, 1] as const, ops: 'all' },
      {
        name: 'all ops, 2 channels, range [-1, 2]',
        ch: 2,
        h: 5,
        w: 5,
        range: [-1, 2] as const,
        ops: 'all',
      },
      { name: 'digit ops, MNIST size', ch: 1, h: 28, w: 28, range: [0, 1] as const, ops: 'digit' },
    ])('agree on $name (both interpolations, several magnitudes and seeds)', ({
      ch,
      h,
      w,
      range,
      ops,
    }) => {
      const [lo, hi] = range;
      const x = tf.tidy(() =>
        tf.add(tf.mul(images(5, h, w, ch, 7), hi - lo + 0.4), lo - 0.2),
      ) as tf.Tensor4D;
      const lists: VirtualViewOp[][] =
        ops === 'each' ? ALL.map((o) => [o]) : ops === 'all' ? [ALL] : [[...DIGIT_SAFE_OPS]];
      let worst = 0;
      for (const list of lists) {
        for (const interpolation of ['bilinear', 'nearest'] as const) {
          for (const [seed, magnitude] of [
            [1, 9],
            [2, 30],
            [3, 4.5],
          ] as const) {
            const o: VirtualViewOptions = {
              seed,
              magnitude,
              ops: list,
              interpolation,
              valueRange: range,
              numOps: 3,
            };
            const a = virtualView(x, o);
            const b = composite(() => virtualView(x, o));
            const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
            worst = Math.max(worst, d);
            tf.dispose([a, b]);
          }
        }
      }
      // The fused kernel rounds every step to float32 in the composite's order and sums
      // contrast's means as this backend's Sum / Mean kernels do: the views are bit-identical.
      expect(worst).toBe(0);
      x.dispose();
    });

    it('a fill value outside the range and zero ops agree too', () => {
      const x = images(3, 6, 6, 1, 4);
      for (const numOps of [0, 2]) {
        const o: VirtualViewOptions = {
          seed: 5,
          numOps,
          fillValue: 0.5,
          ops: ['rotate', 'translateX'],
        };
        const a = virtualView(x, o);
        const b = composite(() => virtualView(x, o));
        expectClose(a, b, { rtol: 0, atol: 0 });
        tf.dispose([a, b]);
      }
      x.dispose();
    });
  });
});
