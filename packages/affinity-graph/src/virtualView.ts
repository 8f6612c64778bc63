import {
  assertNonEmpty,
  assertNumber,
  assertRank,
  RelkdError,
  Rng,
  type TensorInput,
  toTensor,
} from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The operations {@link virtualView} draws from. With `level = magnitude / 10 ∈ [0, 1]`, a random
 * sign `±` per draw, `[lo, hi]` the value range, `W × H` the image size:
 *
 * | op | effect |
 * |---|---|
 * | `identity` | none |
 * | `brightness` | `lo + f · (x − lo)`, `f = 1 ± 0.9 · level` |
 * | `contrast` | `m + f · (x − m)`, `m` = per-image mean of the grey level, `f = 1 ± 0.9 · level` |
 * | `solarize` | `x > t ? lo + hi − x : x`, `t = hi − level · (hi − lo)` |
 * | `posterize` | keep `8 − round(4 · level)` bits of the 8-bit value |
 * | `translateX` / `translateY` | shift by `± 0.3 · level · W` (`H`) pixels |
 * | `rotate` | `± 30 · level` degrees about the centre |
 * | `shearX` / `shearY` | shear factor `± 0.3 · level` about the centre |
 * | `flipLeftRight` | mirror (magnitude-independent; not in the default list) |
 *
 * Every result is clipped to `[lo, hi]`; geometric ops fill uncovered pixels with `fillValue`.
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
  /** Strength on RandAugment's 0..10 scale (`level = magnitude / 10`). Default `9`. */
  magnitude?: number;
  /** Seed of the op/sign draws; equal seeds give equal views. Default: a random seed. */
  seed?: number;
  /** Allowed ops (drawn uniformly). Default {@link RANDAUGMENT_OPS} (no flip: safe for digits). */
  ops?: readonly VirtualViewOp[];
  /** Value range of the images. Default `[0, 1]`. */
  valueRange?: readonly [number, number];
  /** Fill value of pixels that geometric ops uncover. Default `valueRange[0]`. */
  fillValue?: number;
  /** Resampling of geometric ops. Default `'bilinear'`. */
  interpolation?: 'bilinear' | 'nearest';
}

/**
 * A RandAugment-style virtual view of an NHWC float32 batch `[B, H, W, Ch]`: each image gets
 * `numOps` ops drawn uniformly from `ops` (with a random sign for signed ops), applied in order at
 * strength `magnitude` (see {@link VirtualViewOp} for every op and its magnitude mapping). The
 * draws come from core's seeded `Rng` on the CPU (they are data, not tensor reads), so a seed
 * gives the same views on every backend; per-image parameters are passed as tensors (one
 * gather-based affine warp with per-image matrices per slot, masks for photometric ops), so the
 * number of kernels does not depend on B. No gradient is needed (inputs are data).
 * Output: same shape, float32, values in `valueRange`. Feed the SAME virtual batch to teacher and
 * student.
 *
 * @example
 * ```ts
 * const xv = virtualView(x, { seed: step, ops: RANDAUGMENT_OPS }); // x: [B, 28, 28, 1] in [0, 1]
 * ```
 */
export function virtualView(images: TensorInput, options: VirtualViewOptions = {}): tf.Tensor4D {
  const {
    numOps = 2,
    magnitude = 9,
    seed = Math.floor(Math.random() * 2 ** 32),
    ops = RANDAUGMENT_OPS,
    valueRange = [0, 1],
    interpolation = 'bilinear',
  } = options;
  assertNumber(numOps, 'options.numOps', { min: 0, max: 16, integer: true });
  assertNumber(magnitude, 'options.magnitude', { min: 0, max: 10 });
  assertNumber(seed, 'options.seed');
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new RelkdError('INVALID_OPTION', '`options.ops` must be a non-empty array of op names.', {
      name: 'options.ops',
      value: ops,
    });
  }
  for (const op of ops) {
    if (!ALL_OPS.includes(op)) {
      throw new RelkdError(
        'INVALID_OPTION',
        `\`options.ops\` contains unknown op ${JSON.stringify(op)}; allowed: ${ALL_OPS.join(', ')}.`,
        { name: 'options.ops', value: op },
      );
    }
  }
  if (!Array.isArray(valueRange) || valueRange.length !== 2) {
    throw new RelkdError('INVALID_OPTION', '`options.valueRange` must be [lo, hi].', {
      name: 'options.valueRange',
    });
  }
  const [lo, hi] = valueRange;
  assertNumber(lo, 'options.valueRange[0]');
  assertNumber(hi, 'options.valueRange[1]', { min: lo, exclusiveMin: true });
  const { fillValue = lo } = options;
  assertNumber(fillValue, 'options.fillValue');
  if (interpolation !== 'bilinear' && interpolation !== 'nearest') {
    throw new RelkdError(
      'INVALID_OPTION',
      "`options.interpolation` must be 'bilinear' or 'nearest'.",
      {
        name: 'options.interpolation',
        value: interpolation,
      },
    );
  }

  return tf.tidy(() => {
    const x0 = toTensor(images, 'images');
    assertRank(x0, 4, 'images', '[B, H, W, Ch] NHWC');
    assertNonEmpty(x0, 'images');
    const [b, h, w, ch] = x0.shape as [number, number, number, number];
    const level = magnitude / 10;
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
    let x = tf.clipByValue(x0, lo, hi) as tf.Tensor4D;
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    for (let k = 0; k < numOps; k++) {
      const c = choice[k]!;
      const s = signs[k]!;
      if (anyGeometric) {
        const m = new Float32Array(b * 8);
        for (let i = 0; i < b; i++) {
          m.set(geometricMatrix(c[i]!, s[i]!, level, w, h, cx, cy), i * 8);
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
  w: number,
  h: number,
  cx: number,
  cy: number,
): number[] {
  switch (op) {
    case 'translateX':
      // content moves by +t: input x = output x − t
      return [1, 0, -sign * 0.3 * level * w, 0, 1, 0, 0, 0];
    case 'translateY':
      return [1, 0, 0, 0, 1, -sign * 0.3 * level * h, 0, 0];
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
