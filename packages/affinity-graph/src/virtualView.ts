import { RelkdError, Rng, type TensorInput } from '@relkd/core';
import {
  assertNonEmpty,
  assertNumber,
  assertOneOf,
  assertRank,
  toTensor,
} from '@relkd/core/internal';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The fused kernel `virtualView` runs where the active backend registered it (@relkd/backend does
 * for cpu and wasm): inputs `{ x: [B, H, W, Ch], plan: [numOps, B, 8] }`, one plan row
 * `[a0, a1, a2, b0, b1, b2, op, p]` per slot and image (the slot's output-to-input affine map, then
 * the photometric op as 1 + its index in brightness, contrast, solarize, posterize, or 0, and its
 * parameter), attrs `{ lo, hi, fill, nearest }`. It computes what the composite path below
 * computes, rounding to float32 in the same order.
 */
const VIRTUAL_VIEW_KERNEL = 'RelkdVirtualView';

/**
 * The operations {@link virtualView} draws from. With `level ∈ [0, 1]` (`magnitude / 30` on the
 * default `'torchvision'` scale, `magnitude / 10` on the `'tenths'` scale, see
 * {@link MagnitudeScale}), a random sign `±` per draw, `[lo, hi]` the value range, `W × H` the
 * image size:
 *
 * | op | effect | torchvision `RandAugment` at full scale |
 * |---|---|---|
 * | `identity` | none | `Identity` |
 * | `brightness` | `lo + f · (x − lo)`, `f = 1 ± 0.9 · level` | `Brightness`, `±0.9` |
 * | `contrast` | `m + f · (x − m)`, `m` = per-image mean of the grey level, `f = 1 ± 0.9 · level` | `Contrast`, `±0.9` |
 * | `solarize` | `x > t ? lo + hi − x : x`, `t = hi − level · (hi − lo)` | `Solarize`, `255 → 0` |
 * | `posterize` | keep `8 − round(4 · level)` bits of the 8-bit value | `Posterize`, `8 → 4` bits |
 * | `translateX` / `translateY` | shift by `± T · level · W` (`H`) pixels, `T = 150/331` (`'torchvision'`) or `0.3` (`'tenths'`) | `TranslateX/Y`, `±150/331` of the size |
 * | `rotate` | `± 30 · level` degrees about the centre | `Rotate`, `±30°` |
 * | `shearX` / `shearY` | shear factor `± 0.3 · level` about the centre | `ShearX/Y`, `±0.3` |
 * | `flipLeftRight` | mirror (magnitude-independent; in neither default list) | (not in RandAugment) |
 *
 * Every result is clipped to `[lo, hi]`; geometric ops fill uncovered pixels with `fillValue`.
 * (torchvision's `Color`, `Sharpness`, `AutoContrast` and `Equalize` are not implemented.)
 */
export type VirtualViewOp =
  | 'identity'
  | 'brightness'
  | 'contrast'
  | 'solarize'
  | 'posterize'
  | 'translateX'
  | 'translateY'
  | 'rotate'
  | 'shearX'
  | 'shearY'
  | 'flipLeftRight';

/** Default op list: RandAugment's label-preserving ops available from tfjs-core (no flip). */
export const RANDAUGMENT_OPS: readonly VirtualViewOp[] = Object.freeze([
  'identity',
  'brightness',
  'contrast',
  'solarize',
  'posterize',
  'translateX',
  'translateY',
  'rotate',
  'shearX',
  'shearY',
]);

/**
 * Op list for digit and character data (MNIST, EMNIST, ...): {@link RANDAUGMENT_OPS} without
 * `solarize` (which inverts the strokes of a white-on-black digit) and without flips (a mirrored
 * digit can be another class or none): identity, brightness, contrast, posterize, translateX,
 * translateY, rotate, shearX, shearY. Rotation and shear stay label-preserving at moderate
 * magnitudes (`rotate` is at most 30° at magnitude 30; 9° at the default 9). (ours)
 *
 * @example
 * ```ts
 * const xv = virtualView(x, { ops: DIGIT_SAFE_OPS, seed: step }); // x: [B, 28, 28, 1] in [0, 1]
 * ```
 */
export const DIGIT_SAFE_OPS: readonly VirtualViewOp[] = Object.freeze(
  RANDAUGMENT_OPS.filter((op) => op !== 'solarize'),
);

/**
 * How `magnitude` maps to the op strength `level ∈ [0, 1]` in {@link virtualView}.
 * - `'torchvision'` (default): torchvision's `RandAugment` scale, `num_magnitude_bins = 31`,
 *   `magnitude ∈ [0, 30]`, `level = magnitude / 30`; translation up to `150/331` of the size
 *   (torchvision's value), so at every magnitude each op has torchvision's strength.
 * - `'tenths'`: the 0..10 scale of earlier versions of this package, `level = magnitude / 10`,
 *   translation up to `0.3` of the size (magnitude 9 here is three times torchvision's 9).
 */
export type MagnitudeScale = 'torchvision' | 'tenths';

/** Largest `magnitude` per {@link MagnitudeScale} (the magnitude giving `level = 1`). */
export const MAX_MAGNITUDE: Readonly<Record<MagnitudeScale, number>> = Object.freeze({
  torchvision: 30,
  tenths: 10,
});

/** Largest translation as a fraction of the image size, per {@link MagnitudeScale}. */
const MAX_TRANSLATE: Readonly<Record<MagnitudeScale, number>> = {
  torchvision: 150 / 331,
  tenths: 0.3,
};

const ALL_OPS: readonly VirtualViewOp[] = [...RANDAUGMENT_OPS, 'flipLeftRight'];
const GEOMETRIC = new Set<VirtualViewOp>([
  'translateX',
  'translateY',
  'rotate',
  'shearX',
  'shearY',
  'flipLeftRight',
]);
const PHOTOMETRIC: readonly VirtualViewOp[] = ['brightness', 'contrast', 'solarize', 'posterize'];

/** Options of {@link virtualView}. */
export interface VirtualViewOptions {
  /** Ops applied in sequence to each image (each drawn independently per image). Default `2`. */
  numOps?: number;
  /**
   * Strength. On the default `'torchvision'` scale: torchvision's `RandAugment` magnitude,
   * `0..30` (`level = magnitude / 30`; 30 is full strength); on the `'tenths'` scale `0..10`
   * (`level = magnitude / 10`). Default `9` (torchvision's default magnitude, our choice for VRM:
   * the paper's value is unknown).
   */
  magnitude?: number;
  /** Scale of `magnitude` (see {@link MagnitudeScale}). Default `'torchvision'`. */
  magnitudeScale?: MagnitudeScale;
  /** Seed of the op/sign draws; equal seeds give equal views. Default: a random seed. */
  seed?: number;
  /**
   * Allowed ops (drawn uniformly). Default {@link RANDAUGMENT_OPS} (no flip); use
   * {@link DIGIT_SAFE_OPS} for digits and characters (no solarize either).
   */
  ops?: readonly VirtualViewOp[];
  /** Value range of the images. Default `[0, 1]`. */
  valueRange?: readonly [number, number];
  /** Fill value of pixels that geometric ops uncover. Default `valueRange[0]`. */
  fillValue?: number;
  /** Resampling of geometric ops. Default `'bilinear'`. */
  interpolation?: 'bilinear' | 'nearest';
}

type ResolvedViewOptions = Required<Omit<VirtualViewOptions, 'valueRange'>> & {
  valueRange: readonly [number, number];
};

/** Checks every option of {@link virtualView} and fills in the defaults. */
function resolveViewOptions(options: VirtualViewOptions, name: string): ResolvedViewOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RelkdError('INVALID_OPTION', `\`${name}\` must be an object.`, { name });
  }
  const {
    numOps = 2,
    magnitude = 9,
    magnitudeScale = 'torchvision',
    seed = Math.floor(Math.random() * 2 ** 32),
    ops = RANDAUGMENT_OPS,
    valueRange = [0, 1],
    interpolation = 'bilinear',
  } = options;
  assertNumber(numOps, `${name}.numOps`, { min: 0, max: 16, integer: true });
  assertOneOf(magnitudeScale, ['torchvision', 'tenths'] as const, `${name}.magnitudeScale`);
  assertNumber(magnitude, `${name}.magnitude`, { min: 0, max: MAX_MAGNITUDE[magnitudeScale] });
  assertNumber(seed, `${name}.seed`);
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}.ops\` must be a non-empty array of op names.`,
      {
        name: `${name}.ops`,
        value: ops,
      },
    );
  }
  for (const op of ops) {
    if (!ALL_OPS.includes(op)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`${name}.ops\` contains unknown op ${JSON.stringify(op)}; allowed: ${ALL_OPS.join(', ')}.`,
        { name: `${name}.ops`, value: op },
      );
    }
  }
  if (!Array.isArray(valueRange) || valueRange.length !== 2) {
    throw new RelkdError('INVALID_OPTION', `\`${name}.valueRange\` must be [lo, hi].`, {
      name: `${name}.valueRange`,
    });
  }
  const [lo, hi] = valueRange;
  assertNumber(lo, `${name}.valueRange[0]`);
  assertNumber(hi, `${name}.valueRange[1]`, { min: lo, exclusiveMin: true });
  const { fillValue = lo } = options;
  assertNumber(fillValue, `${name}.fillValue`);
  assertOneOf(interpolation, ['bilinear', 'nearest'] as const, `${name}.interpolation`);
  return {
    numOps,
    magnitude,
    magnitudeScale,
    seed,
    ops,
    valueRange: [lo, hi],
    interpolation,
    fillValue,
  };
}

/**
 * Checks options of {@link virtualView} without running it (e.g. when a recipe is made), with
 * error names under `name` (default `'options'`); `seed` may be absent.
 *
 * @throws RelkdError `INVALID_OPTION`
 * @example
 * ```ts
 * validateVirtualViewOptions({ magnitude: 31 }); // throws: magnitude is on 0..30
 * ```
 */
export function validateVirtualViewOptions(options: VirtualViewOptions, name = 'options'): void {
  resolveViewOptions(options, name);
}

/**
 * A RandAugment-style virtual view of an NHWC float32 batch `[B, H, W, Ch]`: each image gets
 * `numOps` ops drawn uniformly from `ops` (with a random sign for signed ops), applied in order at
 * strength `magnitude` on torchvision's `RandAugment` scale (`0..30`, `level = magnitude / 30`;
 * `magnitudeScale: 'tenths'` gives the older `0..10` scale) (see {@link VirtualViewOp} for every op
 * and its magnitude mapping). Defaults: `numOps = 2`, `magnitude = 9` (torchvision's defaults), the
 * {@link RANDAUGMENT_OPS} list, `valueRange = [0, 1]`, bilinear resampling. The
 * draws come from core's seeded `Rng` on the CPU (they are data, not tensor reads), so a seed
 * gives the same views on every backend; per-image parameters are passed as tensors (one
 * gather-based affine warp with per-image matrices per slot, masks for photometric ops), so the
 * number of kernels does not depend on B. Where `@relkd/backend`'s `useBackend` registered its
 * fused host kernel (cpu, wasm), the whole view is one kernel giving bit-identical values (about
 * 10x faster on wasm for MNIST batches). No gradient is needed (inputs are data).
 * Output: same shape, float32, values in `valueRange`. Feed the SAME virtual batch to teacher and
 * student.
 *
 * @example
 * ```ts
 * const xv = virtualView(x, { seed: step, ops: DIGIT_SAFE_OPS }); // x: [B, 28, 28, 1] in [0, 1]
 * const strong = virtualView(x, { seed: step, magnitude: 27 }); // = { magnitude: 9, magnitudeScale: 'tenths' } up to the translation range
 * ```
 */
export function virtualView(images: TensorInput, options: VirtualViewOptions = {}): tf.Tensor4D {
  const { numOps, magnitude, magnitudeScale, seed, ops, valueRange, interpolation, fillValue } =
    resolveViewOptions(options, 'options');
  const [lo, hi] = valueRange;
  const maxTranslate = MAX_TRANSLATE[magnitudeScale];

  return tf.tidy(() => {
    const x0 = toTensor(images, 'images');
    assertRank(x0, 4, 'images', '[B, H, W, Ch] NHWC');
    assertNonEmpty(x0, 'images');
    const [b, h, w, ch] = x0.shape as [number, number, number, number];
    const level = magnitude / MAX_MAGNITUDE[magnitudeScale];
    const rng = new Rng(seed);
    // Draws: for slot k and image i, op index and sign (always two draws, so the stream layout
    // does not depend on which op came out).
    const choice: VirtualViewOp[][] = [];
    const signs: number[][] = [];
    for (let k = 0; k < numOps; k++) {
      const c: VirtualViewOp[] = [];
      const s: number[] = [];
      for (let i = 0; i < b; i++) {
        c.push(ops[rng.int(ops.length)]!);
        s.push(rng.next() < 0.5 ? -1 : 1);
      }
      choice.push(c);
      signs.push(s);
    }
    const anyGeometric = ops.some((o) => GEOMETRIC.has(o));
    const photometric = PHOTOMETRIC.filter((o) => ops.includes(o));
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    if (tf.getKernel(VIRTUAL_VIEW_KERNEL, tf.getBackend()) !== undefined) {
      // One fused pass on host memory (registered by @relkd/backend for cpu and wasm).
      const plan = new Float32Array(numOps * b * 8);
      for (let k = 0; k < numOps; k++) {
        for (let i = 0; i < b; i++) {
          const op = choice[k]![i]!;
          const r = (k * b + i) * 8;
          plan.set(
            geometricMatrix(op, signs[k]![i]!, level, maxTranslate, w, h, cx, cy).slice(0, 6),
            r,
          );
          const code = PHOTOMETRIC.indexOf(op) + 1;
          plan[r + 6] = code;
          plan[r + 7] = code > 0 ? photometricParam(op, signs[k]![i]!, level, lo, hi) : 0;
        }
      }
      return tf
        .engine()
        .runKernel(
          VIRTUAL_VIEW_KERNEL,
          { x: tf.cast(x0, 'float32'), plan: tf.tensor3d(plan, [numOps, b, 8]) },
          { lo, hi, fill: fillValue, nearest: interpolation === 'nearest' },
        ) as tf.Tensor4D;
    }
    let x = tf.clipByValue(x0, lo, hi) as tf.Tensor4D;
    for (let k = 0; k < numOps; k++) {
      const c = choice[k]!;
      const s = signs[k]!;
      if (anyGeometric) {
        const m = new Float32Array(b * 8);
        for (let i = 0; i < b; i++) {
          m.set(geometricMatrix(c[i]!, s[i]!, level, maxTranslate, w, h, cx, cy), i * 8);
        }
        const next = warp(x, tf.tensor2d(m, [b, 8]), interpolation, fillValue);
        x = next;
      }
      if (photometric.length > 0) {
        const keepSel = new Float32Array(b);
        for (let i = 0; i < b; i++) keepSel[i] = PHOTOMETRIC.includes(c[i]!) ? 0 : 1;
        let acc = tf.mul(x, tf.tensor4d(keepSel, [b, 1, 1, 1]));
        for (const op of photometric) {
          const sel = new Float32Array(b);
          const param = new Float32Array(b);
          for (let i = 0; i < b; i++) {
            sel[i] = c[i] === op ? 1 : 0;
            param[i] = photometricParam(op, s[i]!, level, lo, hi);
          }
          const y = applyPhotometric(op, x, tf.tensor4d(param, [b, 1, 1, 1]), lo, hi, ch);
          acc = tf.add(acc, tf.mul(y, tf.tensor4d(sel, [b, 1, 1, 1])));
        }
        x = acc as tf.Tensor4D;
      }
    }
    return tf.clipByValue(x, lo, hi) as tf.Tensor4D;
  });
}

/**
 * Per-image affine warp with the semantics of `tf.image.transform` (output pixel `(x, y)` reads
 * input `(a0 x + a1 y + a2, b0 x + b1 y + b2)`, constant fill outside), written with gathers so
 * it is the same on every backend. (tfjs-backend-cpu 4.22's `Transform` kernel returns after the
 * first image of a batch, so `tf.image.transform` cannot be used for B > 1.)
 */
function warp(
  x: tf.Tensor4D,
  m: tf.Tensor2D,
  interpolation: 'bilinear' | 'nearest',
  fill: number,
): tf.Tensor4D {
  const [b, h, w, ch] = x.shape;
  const col = (i: number) => tf.reshape(tf.slice(m, [0, i], [b, 1]), [b, 1, 1]);
  const gx = tf.reshape(tf.range(0, w), [1, 1, w]);
  const gy = tf.reshape(tf.range(0, h), [1, h, 1]);
  const inX = tf.add(tf.add(tf.mul(col(0), gx), tf.mul(col(1), gy)), col(2));
  const inY = tf.add(tf.add(tf.mul(col(3), gx), tf.mul(col(4), gy)), col(5));
  const flat = tf.reshape(x, [b * h * w, ch]);
  const base = tf.reshape(tf.range(0, b * h * w, h * w, 'int32'), [b, 1, 1]);
  const sample = (iy: tf.Tensor, ix: tf.Tensor): tf.Tensor => {
    const inside = tf.cast(
      tf.logicalAnd(
        tf.logicalAnd(tf.greaterEqual(ix, 0), tf.lessEqual(ix, w - 1)),
        tf.logicalAnd(tf.greaterEqual(iy, 0), tf.lessEqual(iy, h - 1)),
      ),
      'float32',
    );
    const cx = tf.cast(tf.clipByValue(ix, 0, w - 1), 'int32');
    const cy = tf.cast(tf.clipByValue(iy, 0, h - 1), 'int32');
    const idx = tf.add(tf.add(base, tf.mul(cy, tf.scalar(w, 'int32'))), cx);
    const v = tf.reshape(tf.gather(flat, tf.reshape(idx, [-1])), [b, h, w, ch]);
    const ins = tf.expandDims(inside, -1);
    return tf.add(tf.mul(v, ins), tf.mul(tf.sub(1, ins), fill));
  };
  if (interpolation === 'nearest') return sample(tf.round(inY), tf.round(inX)) as tf.Tensor4D;
  const x0 = tf.floor(inX);
  const y0 = tf.floor(inY);
  const x1 = tf.add(x0, 1);
  const y1 = tf.add(y0, 1);
  const wx = tf.expandDims(tf.sub(inX, x0), -1);
  const wy = tf.expandDims(tf.sub(inY, y0), -1);
  const top = tf.add(tf.mul(sample(y0, x0), tf.sub(1, wx)), tf.mul(sample(y0, x1), wx));
  const bottom = tf.add(tf.mul(sample(y1, x0), tf.sub(1, wx)), tf.mul(sample(y1, x1), wx));
  return tf.add(tf.mul(top, tf.sub(1, wy)), tf.mul(bottom, wy)) as tf.Tensor4D;
}

/** Output-to-input affine map `[a0, a1, a2, b0, b1, b2, 0, 0]` (the `tf.image.transform` layout). */
function geometricMatrix(
  op: VirtualViewOp,
  sign: number,
  level: number,
  maxTranslate: number,
  w: number,
  h: number,
  cx: number,
  cy: number,
): number[] {
  switch (op) {
    case 'translateX':
      // content moves by +t: input x = output x − t
      return [1, 0, -sign * maxTranslate * level * w, 0, 1, 0, 0, 0];
    case 'translateY':
      return [1, 0, 0, 0, 1, -sign * maxTranslate * level * h, 0, 0];
    case 'rotate': {
      const a = (sign * 30 * level * Math.PI) / 180;
      const cos = Math.cos(a);
      const sin = Math.sin(a);
      return [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0, 0];
    }
    case 'shearX': {
      const f = sign * 0.3 * level;
      return [1, f, -f * cy, 0, 1, 0, 0, 0];
    }
    case 'shearY': {
      const f = sign * 0.3 * level;
      return [1, 0, 0, f, 1, -f * cx, 0, 0];
    }
    case 'flipLeftRight':
      return [-1, 0, w - 1, 0, 1, 0, 0, 0];
    default:
      return [1, 0, 0, 0, 1, 0, 0, 0];
  }
}

function photometricParam(op: VirtualViewOp, sign: number, level: number, lo: number, hi: number) {
  switch (op) {
    case 'brightness':
    case 'contrast':
      return 1 + sign * 0.9 * level;
    case 'solarize':
      return hi - level * (hi - lo);
    case 'posterize':
      // quantisation step of the 8-bit value: 2^(8 − bits), bits = 8 − round(4 · level)
      return 2 ** Math.round(4 * level);
    default:
      return 0;
  }
}

function applyPhotometric(
  op: VirtualViewOp,
  x: tf.Tensor4D,
  p: tf.Tensor4D,
  lo: number,
  hi: number,
  ch: number,
): tf.Tensor {
  switch (op) {
    case 'brightness':
      return tf.clipByValue(tf.add(tf.mul(tf.sub(x, lo), p), lo), lo, hi);
    case 'contrast': {
      const grey =
        ch === 3
          ? tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true)
          : tf.mean(x, -1, true);
      const m = tf.mean(grey, [1, 2], true);
      return tf.clipByValue(tf.add(tf.mul(tf.sub(x, m), p), m), lo, hi);
    }
    case 'solarize': {
      const above = tf.cast(tf.greater(x, p), 'float32');
      return tf.add(x, tf.mul(above, tf.sub(lo + hi, tf.mul(x, 2))));
    }
    case 'posterize': {
      const u8 = tf.round(tf.mul(tf.div(tf.sub(x, lo), hi - lo), 255));
      const q = tf.mul(tf.floor(tf.div(u8, p)), p);
      return tf.add(tf.mul(tf.div(q, 255), hi - lo), lo);
    }
    default:
      return x;
  }
}
