import { Rng } from '@relkd/core';
import { expectClose, expectRelkdError } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../useBackend';
import { FAST_BINARY_KERNELS } from './binaryOps';
import {
  registerWasmGradientKernels,
  WASM_FASTER_KERNELS,
  WASM_GRADIENT_KERNELS,
} from './registerWasmGradientKernels';

type Pad =
  | 'same'
  | 'valid'
  | [[number, number], [number, number], [number, number], [number, number]];
type Vals = Record<string, { values: number[]; shape: number[]; dtype?: 'float32' | 'int32' }>;

/** Deterministic pseudo-random values in [-1, 1), from core's `Rng`. */
function values(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 2 * rng.next() - 1);
}

/** Runs one kernel on `backend` through the engine; returns its values and shape; checks no leak. */
function runKernel(backend: 'cpu' | 'wasm', kernel: string, inputs: Vals, attrs: object) {
  tf.setBackend(backend);
  const be = tf.backend();
  const tensorsBefore = tf.memory().numTensors;
  const dataBefore = be.numDataIds();
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs))
    ins[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
  const out = tf.engine().runKernel(kernel, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { values: Array.from(out.dataSync()), shape: out.shape, dtype: out.dtype };
  out.dispose();
  for (const t of Object.values(ins)) t.dispose();
  expect(tf.memory().numTensors, `${kernel} on ${backend}: engine tensors`).toBe(tensorsBefore);
  expect(be.numDataIds(), `${kernel} on ${backend}: backend buffers`).toBe(dataBefore);
  return result;
}

function geometry(
  x: [number, number, number, number],
  f: [number, number, number, number],
  stride: number | [number, number],
  dilation: number | [number, number],
  pad: Pad,
  depthwise: boolean,
) {
  return tf.backend_util.computeConv2DInfo(
    x,
    f,
    stride,
    dilation,
    pad as 'same',
    undefined,
    depthwise,
  );
}

/** Float64 reference of the forward (depthwise) convolution's adjoints, straight from the definition. */
function reference(
  xShape: [number, number, number, number],
  fShape: [number, number, number, number],
  stride: number | [number, number],
  dilation: number | [number, number],
  pad: Pad,
  depthwise: boolean,
  x: number[],
  f: number[],
  dy: number[],
) {
  const g = geometry(xShape, fShape, stride, dilation, pad, depthwise);
  const [n, h, w, ci] = xShape;
  const [fh, fw, , fo] = fShape;
  const co = depthwise ? ci * fo : fo;
  const dW = new Float64Array(fh * fw * ci * fo);
  const dX = new Float64Array(n * h * w * ci);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < g.outHeight; oy++)
      for (let ox = 0; ox < g.outWidth; ox++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++) {
            const yy = oy * g.strideHeight + i * g.dilationHeight - g.padInfo.top;
            const xx = ox * g.strideWidth + j * g.dilationWidth - g.padInfo.left;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            for (let c = 0; c < ci; c++)
              for (let m = 0; m < fo; m++) {
                const oc = depthwise ? c * fo + m : m;
                const dyv = dy[((b * g.outHeight + oy) * g.outWidth + ox) * co + oc] as number;
                const xi = ((b * h + yy) * w + xx) * ci + c;
                const fi = ((i * fw + j) * ci + c) * fo + m;
                dW[fi] = (dW[fi] as number) + (x[xi] as number) * dyv;
                dX[xi] = (dX[xi] as number) + (f[fi] as number) * dyv;
              }
          }
  return { dW: Array.from(dW), dX: Array.from(dX), outShape: [n, g.outHeight, g.outWidth, co] };
}

// Sums of up to a few hundred float32 products: absolute error ~1e-6 around values of order 1.
const TOL = { rtol: 1e-5, atol: 1e-5 };

const PADS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [1, 2],
    [2, 0],
    [0, 0],
  ],
];
const SHAPES: { x: [number, number, number, number]; fh: number; fw: number }[] = [
  { x: [2, 5, 6, 3], fh: 3, fw: 3 },
  { x: [1, 8, 7, 2], fh: 2, fw: 3 },
  { x: [3, 4, 4, 3], fh: 1, fw: 1 },
  { x: [2, 7, 5, 1], fh: 5, fw: 2 },
  // 8+ input channels (the MNIST students' second and third layers have 8 and 32).
  { x: [2, 6, 5, 9], fh: 3, fw: 2 },
];
const STRIDES: (number | [number, number])[] = [1, 2, [2, 1]];

const cases = STRIDES.flatMap((stride) =>
  PADS.flatMap((pad) => SHAPES.map((shape) => ({ stride, pad, ...shape }))),
).filter(({ x, fh, fw, pad }) => pad !== 'valid' || (x[1] >= fh && x[2] >= fw));

describe('WASM gradient kernels', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('registers the four kernels tfjs-backend-wasm 4.22 lacks, once', () => {
    for (const name of Object.keys(WASM_GRADIENT_KERNELS))
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    expect(Object.keys(WASM_GRADIENT_KERNELS).sort()).toEqual([
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'UnsortedSegmentSum',
    ]);
    expect(registerWasmGradientKernels()).toEqual([]);
  });

  describe.each(cases)('stride $stride, pad $pad, x $x, filter $fh x $fw', ({
    stride,
    pad,
    x,
    fh,
    fw,
  }) => {
    const [n, , , ci] = x;
    it('Conv2DBackpropFilter matches cpu and the float64 reference', () => {
      const co = 4;
      const fShape: [number, number, number, number] = [fh, fw, ci, co];
      const g = geometry(x, fShape, stride, 1, pad, false);
      const xv = values(
        x.reduce((a, b) => a * b),
        1,
      );
      const dy = values(n * g.outHeight * g.outWidth * co, 2);
      const inputs: Vals = {
        x: { values: xv, shape: x },
        dy: { values: dy, shape: [n, g.outHeight, g.outWidth, co] },
      };
      const attrs = { strides: stride, pad, dataFormat: 'NHWC', filterShape: fShape };
      const cpu = runKernel('cpu', 'Conv2DBackpropFilter', inputs, attrs);
      const wasm = runKernel('wasm', 'Conv2DBackpropFilter', inputs, attrs);
      expect(wasm.shape).toEqual(fShape);
      expectClose(wasm.values, cpu.values, TOL);
      const ref = reference(
        x,
        fShape,
        stride,
        1,
        pad,
        false,
        xv,
        new Array(fShape.reduce((a, b) => a * b)).fill(0),
        dy,
      );
      expectClose(wasm.values, ref.dW, TOL);
    });

    it.each([
      1, 2,
    ])('DepthwiseConv2dNativeBackpropFilter / Input (multiplier %i) match cpu and the reference', (mult) => {
      const fShape: [number, number, number, number] = [fh, fw, ci, mult];
      const g = geometry(x, fShape, stride, 1, pad, true);
      const xv = values(
        x.reduce((a, b) => a * b),
        3,
      );
      const fv = values(
        fShape.reduce((a, b) => a * b),
        4,
      );
      const dy = values(n * g.outHeight * g.outWidth * ci * mult, 5);
      const dyShape = [n, g.outHeight, g.outWidth, ci * mult];
      const fAttrs = { strides: stride, pad, dilations: 1, filterShape: fShape };
      const fInputs: Vals = { x: { values: xv, shape: x }, dy: { values: dy, shape: dyShape } };
      const cpuF = runKernel('cpu', 'DepthwiseConv2dNativeBackpropFilter', fInputs, fAttrs);
      const wasmF = runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', fInputs, fAttrs);
      expect(wasmF.shape).toEqual(fShape);
      expectClose(wasmF.values, cpuF.values, TOL);

      const iAttrs = { strides: stride, pad, dilations: 1, inputShape: x };
      const iInputs: Vals = {
        dy: { values: dy, shape: dyShape },
        filter: { values: fv, shape: fShape },
      };
      const cpuI = runKernel('cpu', 'DepthwiseConv2dNativeBackpropInput', iInputs, iAttrs);
      const wasmI = runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', iInputs, iAttrs);
      expect(wasmI.shape).toEqual(x);
      expectClose(wasmI.values, cpuI.values, TOL);

      const ref = reference(x, fShape, stride, 1, pad, true, xv, fv, dy);
      expectClose(wasmF.values, ref.dW, TOL);
      expectClose(wasmI.values, ref.dX, TOL);
    });
  });

  // The cpu backend ignores dilation in its depthwise backprop kernels (and tfjs-core's gradients
  // reject dilation > 1), so dilated cases are checked against the float64 reference only.
  it.each([
    {
      x: [2, 9, 8, 2] as [number, number, number, number],
      f: 3,
      stride: 1,
      dilation: 2,
      pad: 'same' as Pad,
    },
    {
      x: [1, 10, 9, 3] as [number, number, number, number],
      f: 2,
      stride: 1,
      dilation: [3, 2] as [number, number],
      pad: 'valid' as Pad,
    },
    {
      x: [2, 8, 8, 2] as [number, number, number, number],
      f: 3,
      stride: 1,
      dilation: 2,
      pad: PADS[2] as Pad,
    },
  ])('dilated depthwise backprop (dilation $dilation, pad $pad) matches the float64 reference', ({
    x,
    f,
    stride,
    dilation,
    pad,
  }) => {
    const [n, , , ci] = x;
    const mult = 2;
    const fShape: [number, number, number, number] = [f, f, ci, mult];
    const g = geometry(x, fShape, stride, dilation, pad, true);
    const xv = values(
      x.reduce((a, b) => a * b),
      6,
    );
    const fv = values(
      fShape.reduce((a, b) => a * b),
      7,
    );
    const dy = values(n * g.outHeight * g.outWidth * ci * mult, 8);
    const dyShape = [n, g.outHeight, g.outWidth, ci * mult];
    const ref = reference(x, fShape, stride, dilation, pad, true, xv, fv, dy);
    const wF = runKernel(
      'wasm',
      'DepthwiseConv2dNativeBackpropFilter',
      { x: { values: xv, shape: x }, dy: { values: dy, shape: dyShape } },
      {
        strides: stride,
        pad,
        dilations: dilation,
        filterShape: fShape,
      },
    );
    expectClose(wF.values, ref.dW, TOL);
    const wI = runKernel(
      'wasm',
      'DepthwiseConv2dNativeBackpropInput',
      { dy: { values: dy, shape: dyShape }, filter: { values: fv, shape: fShape } },
      {
        strides: stride,
        pad,
        dilations: dilation,
        inputShape: x,
      },
    );
    expectClose(wI.values, ref.dX, TOL);
  });

  it.each([
    { x: [2, 9, 9, 2], stride: 1, dilation: 2, pad: 'same' },
    // One input channel: the patch-product path.
    { x: [2, 9, 8, 1], stride: 1, dilation: 2, pad: 'same' },
    { x: [2, 9, 8, 1], stride: 1, dilation: [2, 3], pad: 'valid' },
    { x: [1, 10, 9, 1], stride: 2, dilation: 2, pad: 'same' },
  ] as const)('dilated Conv2DBackpropFilter (dilations attribute), x $x, stride $stride, dilation $dilation, $pad, matches the float64 reference', (c) => {
    const x = [...c.x] as [number, number, number, number];
    const fShape: [number, number, number, number] = [3, 3, x[3], 3];
    const dilation = (typeof c.dilation === 'number' ? c.dilation : [...c.dilation]) as
      | number
      | [number, number];
    const g = geometry(x, fShape, c.stride, dilation, c.pad, false);
    const xv = values(x[0] * x[1] * x[2] * x[3], 9);
    const dy = values(x[0] * g.outHeight * g.outWidth * 3, 10);
    const ref = reference(
      x,
      fShape,
      c.stride,
      dilation,
      c.pad,
      false,
      xv,
      new Array(27 * x[3]).fill(0),
      dy,
    );
    const w = runKernel(
      'wasm',
      'Conv2DBackpropFilter',
      {
        x: { values: xv, shape: x },
        dy: { values: dy, shape: [x[0], g.outHeight, g.outWidth, 3] },
      },
      {
        strides: c.stride,
        pad: c.pad,
        dilations: dilation,
        dataFormat: 'NHWC',
        filterShape: fShape,
      },
    );
    expectClose(w.values, ref.dW, TOL);
  });

  it('Conv2DBackpropFilter with stride 2 and dilation 2 together (per-tap path) matches the reference', () => {
    const x: [number, number, number, number] = [2, 9, 8, 2];
    const fShape: [number, number, number, number] = [2, 3, 2, 3];
    const g = geometry(x, fShape, 2, 2, 'valid', false);
    const xv = values(2 * 9 * 8 * 2, 31);
    const dy = values(2 * g.outHeight * g.outWidth * 3, 32);
    const ref = reference(x, fShape, 2, 2, 'valid', false, xv, new Array(36).fill(0), dy);
    const w = runKernel(
      'wasm',
      'Conv2DBackpropFilter',
      { x: { values: xv, shape: x }, dy: { values: dy, shape: [2, g.outHeight, g.outWidth, 3] } },
      { strides: 2, pad: 'valid', dilations: 2, dataFormat: 'NHWC', filterShape: fShape },
    );
    expectClose(w.values, ref.dW, TOL);
  });

  describe('faster replacements of tfjs-backend-wasm kernels', () => {
    it('wraps BatchMatMul, Conv2DBackpropInput, GatherV2, Identity, MaxPoolGrad, Sum, Mean, Transpose, RealDiv, Slice, Cast and the binary ops once', () => {
      expect(Object.keys(WASM_FASTER_KERNELS).sort()).toEqual(
        [
          'BatchMatMul',
          'Conv2DBackpropInput',
          'GatherV2',
          'Identity',
          'MaxPoolGrad',
          'Sum',
          'Mean',
          'Transpose',
          'RealDiv',
          'Slice',
          'Cast',
          ...FAST_BINARY_KERNELS,
        ].sort(),
      );
      for (const name of Object.keys(WASM_FASTER_KERNELS)) {
        const k = tf.getKernel(name, 'wasm');
        expect(k?.kernelFunc, name).toBeDefined();
        expect(Symbol.for('@relkd/backend:wrapped') in (k?.kernelFunc ?? {}), name).toBe(true);
        // Identity, Slice and Cast are pure JavaScript upstream (no setup to keep).
        if (!['Identity', 'Slice', 'Cast'].includes(name))
          expect(k?.setupFunc, `${name} keeps tfjs' setup`).toBeDefined();
      }
      expect(registerWasmGradientKernels()).toEqual([]);
    });

    it('useBackend({ fasterWasmKernels: false }) restores tfjs-backend-wasm kernels; the default puts ours back', async () => {
      const wrapped = () =>
        Object.keys(WASM_FASTER_KERNELS).filter(
          (name) =>
            Symbol.for('@relkd/backend:wrapped') in (tf.getKernel(name, 'wasm')?.kernelFunc ?? {}),
        );
      const all = Object.keys(WASM_FASTER_KERNELS);
      try {
        await useBackend('wasm', { fasterWasmKernels: false });
        expect(wrapped()).toEqual([]);
        // tfjs' own kernels still work (a transposed matmul, a gather).
        const r = tf.tidy(() =>
          Array.from(
            tf
              .matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]), true)
              .dataSync(),
          ),
        );
        expect(r).toEqual([1, 3, 2, 4]);
      } finally {
        await useBackend('wasm');
      }
      expect(wrapped().sort()).toEqual([...all].sort());
      await expect(
        useBackend('wasm', { fasterWasmKernels: 'yes' as unknown as boolean }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    });

    it.each([
      { a: [1, 5, 7], b: [1, 7, 4], ta: false, tb: false },
      { a: [1, 5, 7], b: [1, 4, 7], ta: false, tb: true },
      { a: [2, 7, 5], b: [2, 7, 4], ta: true, tb: false },
      { a: [3, 7, 5], b: [1, 4, 7], ta: true, tb: true },
      { a: [1, 6, 3], b: [4, 6, 2], ta: true, tb: false },
    ])('BatchMatMul a $a, b $b, transposeA $ta, transposeB $tb matches cpu and float64', ({
      a,
      b,
      ta,
      tb,
    }) => {
      const av = values(
        a.reduce((p, q) => p * q),
        41,
      );
      const bv = values(
        b.reduce((p, q) => p * q),
        42,
      );
      const inputs: Vals = { a: { values: av, shape: a }, b: { values: bv, shape: b } };
      const attrs = { transposeA: ta, transposeB: tb };
      const cpu = runKernel('cpu', 'BatchMatMul', inputs, attrs);
      const wasm = runKernel('wasm', 'BatchMatMul', inputs, attrs);
      const m = ta ? (a[2] as number) : (a[1] as number);
      const k = ta ? (a[1] as number) : (a[2] as number);
      const n = tb ? (b[1] as number) : (b[2] as number);
      const batch = Math.max(a[0] as number, b[0] as number);
      const ref: number[] = [];
      for (let q = 0; q < batch; q++) {
        const qa = (a[0] as number) === 1 ? 0 : q;
        const qb = (b[0] as number) === 1 ? 0 : q;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let r = 0; r < k; r++) {
              const ai = ta ? r * m + i : i * k + r;
              const bi = tb ? j * k + r : r * n + j;
              acc += (av[qa * m * k + ai] as number) * (bv[qb * k * n + bi] as number);
            }
            ref.push(acc);
          }
      }
      expect(wasm.shape).toEqual([batch, m, n]);
      expectClose(wasm.values, ref, TOL);
      expectClose(wasm.values, cpu.values, TOL);
    });

    it.each(
      cases,
    )('Conv2DBackpropInput stride $stride, pad $pad, x $x, filter $fh x $fw matches cpu and float64', ({
      stride,
      pad,
      x,
      fh,
      fw,
    }) => {
      const [n, , , ci] = x;
      const co = 3;
      const fShape: [number, number, number, number] = [fh, fw, ci, co];
      const g = geometry(x, fShape, stride, 1, pad, false);
      const fv = values(
        fShape.reduce((p, q) => p * q),
        51,
      );
      const dy = values(n * g.outHeight * g.outWidth * co, 52);
      const inputs: Vals = {
        dy: { values: dy, shape: [n, g.outHeight, g.outWidth, co] },
        filter: { values: fv, shape: fShape },
      };
      const attrs = { strides: stride, pad, dataFormat: 'NHWC', inputShape: x };
      const cpu = runKernel('cpu', 'Conv2DBackpropInput', inputs, attrs);
      const wasm = runKernel('wasm', 'Conv2DBackpropInput', inputs, attrs);
      expect(wasm.shape).toEqual(x);
      const xZeros = new Array(x.reduce((p, q) => p * q)).fill(0);
      expectClose(wasm.values, reference(x, fShape, stride, 1, pad, false, xZeros, fv, dy).dX, TOL);
      expectClose(wasm.values, cpu.values, TOL);
    });

    it('dilated Conv2DBackpropInput (dilations attribute) matches the float64 reference', () => {
      const x: [number, number, number, number] = [2, 9, 8, 2];
      const fShape: [number, number, number, number] = [3, 2, 2, 3];
      const g = geometry(x, fShape, 1, [2, 3], 'same', false);
      const fv = values(36, 55);
      const dy = values(2 * g.outHeight * g.outWidth * 3, 56);
      const w = runKernel(
        'wasm',
        'Conv2DBackpropInput',
        {
          dy: { values: dy, shape: [2, g.outHeight, g.outWidth, 3] },
          filter: { values: fv, shape: fShape },
        },
        { strides: 1, pad: 'same', dilations: [2, 3], dataFormat: 'NHWC', inputShape: x },
      );
      const xZeros = new Array(2 * 9 * 8 * 2).fill(0);
      expectClose(w.values, reference(x, fShape, 1, [2, 3], 'same', false, xZeros, fv, dy).dX, TOL);
    });

    it.each([
      { x: [2, 8, 8, 3], f: 2, s: 2, pad: 'valid', ties: false },
      { x: [2, 8, 8, 3], f: 2, s: 2, pad: 'valid', ties: true },
      { x: [1, 7, 9, 2], f: 3, s: 2, pad: 'same', ties: true },
      { x: [2, 6, 5, 4], f: 3, s: 1, pad: 'valid', ties: true },
      { x: [1, 5, 5, 1], f: 2, s: 3, pad: 'same', ties: false },
      // 2 x 2 windows: clipped at the border (7 -> 4), and overlapping (stride 1: accumulated).
      { x: [2, 7, 7, 4], f: 2, s: 2, pad: 'same', ties: true },
      { x: [2, 7, 7, 4], f: 2, s: 2, pad: 'same', ties: false },
      { x: [1, 6, 5, 3], f: 2, s: 1, pad: 'valid', ties: true },
      // Clipped at the bottom and the right edge (1 x 2, 2 x 1 and 1 x 1 windows), odd sides.
      { x: [2, 7, 9, 5], f: 2, s: 2, pad: 'same', ties: true },
      { x: [3, 5, 3, 17], f: 2, s: 2, pad: 'same', ties: false },
      { x: [1, 1, 1, 3], f: 2, s: 2, pad: 'same', ties: true },
    ] as const)('MaxPoolGrad x $x, filter $f, stride $s, $pad, ties $ties matches cpu', ({
      x,
      f,
      s,
      pad,
      ties,
    }) => {
      const size = x.reduce((p: number, q: number) => p * q, 1);
      // Ties: values from {-1, 0, 1} (many equal maxima, as after a ReLU): the first maximum of
      // each window in scan order takes the gradient, like the cpu kernel.
      const xv = values(size, 61).map((v) => (ties ? Math.round(v) : v));
      const info = tf.backend_util.computePool2DInfo([...x], f, s, 1, pad);
      const dy = values(x[0] * info.outHeight * info.outWidth * x[3], 62);
      tf.setBackend('cpu');
      const yCpu = tf.tidy(() => tf.maxPool(tf.tensor4d(xv, [...x]), f, s, pad));
      const yv = Array.from(yCpu.dataSync());
      yCpu.dispose();
      const inputs: Vals = {
        dy: { values: dy, shape: [x[0], info.outHeight, info.outWidth, x[3]] },
        input: { values: xv, shape: [...x] },
        output: { values: yv, shape: [x[0], info.outHeight, info.outWidth, x[3]] },
      };
      const attrs = { filterSize: f, strides: s, pad };
      const cpu = runKernel('cpu', 'MaxPoolGrad', inputs, attrs);
      const wasm = runKernel('wasm', 'MaxPoolGrad', inputs, attrs);
      expect(wasm.shape).toEqual([...x]);
      expectClose(wasm.values, cpu.values, TOL);
      // Windows that do not overlap: every gradient value is one dy value or 0, exactly.
      if (s >= f) expect(wasm.values).toEqual(cpu.values);
    });

    it.each([
      { x: [6, 20], idx: [5, 0, 0, 3], axis: 0, batchDims: 0, dtype: 'float32' },
      { x: [6, 3], idx: [2, 2, 1], axis: 0, batchDims: 0, dtype: 'int32' },
      { x: [4, 5, 3], idx: [4, 0, 1, 1, 2], axis: 1, batchDims: 0, dtype: 'float32' },
      { x: [3, 4, 20], idx: [3, 1], axis: 2, batchDims: 0, dtype: 'float32' },
      {
        x: [3, 5, 17],
        idx: [0, 4, 2, 2, 1, 0],
        axis: 1,
        batchDims: 1,
        idxShape: [3, 2],
        dtype: 'float32',
      },
      { x: [5, 2], idx: [1, 3], axis: 0, batchDims: 0, dtype: 'bool' },
      { x: [0, 3], idx: [], axis: 1, batchDims: 0, dtype: 'float32' },
    ] as const)('GatherV2 x $x, indices $idx, axis $axis, batchDims $batchDims, $dtype matches cpu', (c) => {
      const size = c.x.reduce((p: number, q: number) => p * q, 1);
      const xv =
        c.dtype === 'float32'
          ? values(size, 81)
          : values(size, 81).map((v) =>
              c.dtype === 'bool' ? (v > 0 ? 1 : 0) : Math.round(v * 40),
            );
      const idxShape = 'idxShape' in c ? [...c.idxShape] : [c.idx.length];
      const inputs: Vals = {
        x: { values: xv, shape: [...c.x], dtype: c.dtype as 'float32' },
        indices: { values: [...c.idx], shape: idxShape, dtype: 'int32' },
      };
      const attrs = { axis: c.axis, batchDims: c.batchDims };
      const cpu = runKernel('cpu', 'GatherV2', inputs, attrs);
      const wasm = runKernel('wasm', 'GatherV2', inputs, attrs);
      expect(wasm.shape).toEqual(cpu.shape);
      expect(wasm.dtype).toBe(cpu.dtype);
      expect(wasm.values).toEqual(cpu.values);
    });

    it('Identity (tf.clone) shares the buffer: same values, independent lifetimes, no leak; strings keep the original', () => {
      tf.setBackend('wasm');
      const be = tf.backend();
      const buffersBefore = be.numDataIds();
      const x = tf.tensor3d([1, -2, 3.5, Number.NaN, 0, -0], [1, 2, 3]);
      const y = tf.clone(x);
      expect(be.numDataIds()).toBe(buffersBefore + 1);
      expect(y.shape).toEqual([1, 2, 3]);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1, -2, 3.5, Number.NaN, 0, -0]);
      y.dispose();
      expect(be.numDataIds()).toBe(buffersBefore);
      const s = tf.tensor1d(['a', 'bc'], 'string');
      const sc = tf.clone(s);
      expect(sc.dataSync()).toEqual(s.dataSync());
      tf.dispose([s, sc]);
      expect(be.numDataIds()).toBe(buffersBefore);
    });

    it.each([
      { shape: [64, 10], axis: [0], keepDims: false },
      { shape: [2, 5, 6, 8], axis: [0, 1, 2], keepDims: false },
      { shape: [2, 5, 6, 8], axis: [2, 0, 1], keepDims: true },
      { shape: [3, 4, 4, 19], axis: [0, 1, 2], keepDims: false },
      { shape: [3, 7, 3], axis: [-3, -2], keepDims: false },
      { shape: [0, 4], axis: [0], keepDims: false },
      // Not over all but the last axis: upstream.
      { shape: [2, 5, 6, 8], axis: [1, 2], keepDims: false },
      { shape: [4, 6], axis: [1], keepDims: true },
    ])('Sum of $shape over $axis (keepDims $keepDims): the float32 sequential sum, like upstream', ({
      shape,
      axis,
      keepDims,
    }) => {
      const size = shape.reduce((p, q) => p * q, 1);
      // Large and small magnitudes (rounding-order sensitive) and a NaN in the last channel.
      const xv = values(size, 41).map((v, i) =>
        i === size - 1 ? Number.NaN : i % 7 === 0 ? v * 1e6 : v,
      );
      const inputs: Vals = { x: { values: xv, shape } };
      const attrs = { axis, keepDims };
      const cpu = runKernel('cpu', 'Sum', inputs, attrs);
      const wasm = runKernel('wasm', 'Sum', inputs, attrs);
      expect(wasm.shape).toEqual(cpu.shape);
      expect(wasm.dtype).toBe('float32');
      // Reference: what tfjs-backend-wasm computes. It transposes the kept axes first and the
      // reduced axes last, in the order given, then adds each output's values in that order in
      // float32 (so `[2, 0, 1]` is not `[0, 1, 2]`).
      const axes = axis.map((a) => (a < 0 ? a + shape.length : a));
      const perm = [...shape.keys()].filter((d) => !axes.includes(d)).concat(axes);
      const tShape = perm.map((d) => shape[d] as number);
      const strides = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
      const reduceSize = axes.reduce((p, a) => p * (shape[a] as number), 1);
      const ref = new Array<number>(wasm.values.length).fill(0);
      const coords = tShape.map(() => 0);
      for (let t = 0; t < size; t++) {
        const src = coords.reduce(
          (acc, c, d) => acc + c * (strides[perm[d] as number] as number),
          0,
        );
        const o = Math.floor(t / reduceSize);
        ref[o] = Math.fround((ref[o] as number) + Math.fround(xv[src] as number));
        for (let d = tShape.length - 1; d >= 0; d--) {
          coords[d] = (coords[d] as number) + 1;
          if ((coords[d] as number) < (tShape[d] as number)) break;
          coords[d] = 0;
        }
      }
      expect(wasm.values).toEqual(ref);
      // And the cpu backend's sums (another order: close, NaN in the same places).
      const nan = (vs: number[]) => vs.map((v) => Number.isNaN(v));
      expect(nan(wasm.values)).toEqual(nan(cpu.values));
      const finite = (vs: number[]) => vs.map((v) => (Number.isNaN(v) ? 0 : v));
      expectClose(finite(wasm.values), finite(cpu.values), { rtol: 1e-4, atol: 1e-3 });
    });

    it('GatherV2 with an out-of-range index throws and leaks nothing', () => {
      tf.setBackend('wasm');
      const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
      const idx = tf.tensor1d([0, 2], 'int32');
      const before = tf.backend().numDataIds();
      expect(() => tf.gather(x, idx)).toThrow(/index value 2 is not in \[0, 1\]/);
      expect(tf.backend().numDataIds()).toBe(before);
      tf.dispose([x, idx]);
    });

    describe.each(FAST_BINARY_KERNELS)('binary %s', (name) => {
      const logical = name === 'LogicalAnd' || name === 'LogicalOr';
      const arithmetic = name === 'Add' || name === 'Sub' || name === 'Multiply';
      const dtypes: ('float32' | 'int32' | 'bool')[] = logical
        ? ['bool']
        : arithmetic
          ? ['int32', 'float32']
          : [
              'float32',
              'int32',
              ...(name === 'Maximum' || name === 'Minimum' ? [] : ['bool' as const]),
            ];
      const shapes: [number[], number[]][] = [
        [
          [3, 4],
          [3, 4],
        ],
        [[3, 4], []],
        [[], [2, 5]],
        [
          [4, 1],
          [1, 5],
        ],
        [
          [2, 3, 1, 4],
          [3, 5, 1],
        ],
        [
          [2, 1, 1, 3],
          [2, 4, 5, 3],
        ],
        [
          [0, 3],
          [1, 3],
        ],
        // A vector along the last axis (float32 Add/Sub/Multiply then run on wider rows):
        // b the vector, a the vector (commutative ops only), and no usable tiling (upstream).
        [[64, 8], [8]],
        [
          [2, 40, 12],
          [1, 12],
        ],
        [
          [1, 1, 16],
          [4, 8, 16],
        ],
        [[7, 5, 3], [3]],
      ];
      it.each(
        dtypes.flatMap((dtype) => shapes.map(([a, b]) => ({ dtype, a, b }))),
      )('$dtype a $a, b $b matches cpu', ({ dtype, a, b }) => {
        const make = (shape: number[], seed: number) => {
          const n = shape.reduce((p, q) => p * q, 1);
          const v = values(n, seed);
          if (dtype === 'bool') return v.map((x) => (x > 0 ? 1 : 0));
          // int32: large values so that Add/Multiply wrap around; equal values for ties.
          if (dtype === 'int32') return v.map((x) => Math.round(x * 3) * (seed % 2 ? 1 : 2 ** 20));
          // float32: a NaN and repeated values (ties in comparisons, NaN in Maximum/Minimum).
          return v.map((x, i) => (i === 1 ? Number.NaN : Math.round(x * 4) / 2));
        };
        const inputs: Vals = {
          a: { values: make(a, 91), shape: a, dtype: dtype as 'float32' },
          b: { values: make(b, 92), shape: b, dtype: dtype as 'float32' },
        };
        const cpu = runKernel('cpu', name, inputs, {});
        const wasm = runKernel('wasm', name, inputs, {});
        expect(wasm.shape).toEqual(cpu.shape);
        expect(wasm.dtype).toBe(cpu.dtype);
        expect(wasm.values).toEqual(cpu.values);
      });
    });

    it('a small CNN training step gives the same gradients on wasm as on cpu', async () => {
      const grads = async (backend: 'cpu' | 'wasm') => {
        await useBackend(backend);
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          const xx = tf.tensor4d(values(4 * 12 * 12 * 1, 71), [4, 12, 12, 1]);
          const k1 = tf.tensor4d(values(9 * 4, 72), [3, 3, 1, 4]);
          const k2 = tf.tensor4d(values(9 * 4 * 6, 73), [3, 3, 4, 6]);
          const wd = tf.tensor2d(values(3 * 3 * 6 * 5, 74), [54, 5]);
          return tf.grads((a, b, c) => {
            const h1 = tf.maxPool(
              tf.relu(tf.conv2d(xx, a as tf.Tensor4D, 1, 'same')),
              2,
              2,
              'valid',
            );
            const h2 = tf.maxPool(
              tf.relu(tf.conv2d(h1, b as tf.Tensor4D, 1, 'same')),
              2,
              2,
              'valid',
            );
            return tf.sum(tf.square(tf.matMul(tf.reshape(h2, [4, 54]), c as tf.Tensor2D)));
          })([k1, k2, wd]);
        });
        const vals = out.map((g) => Array.from(g.dataSync()));
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
        return vals;
      };
      const cpu = await grads('cpu');
      const wasm = await grads('wasm');
      for (let i = 0; i < 3; i++)
        expectClose(wasm[i] ?? [], cpu[i] ?? [], { rtol: 1e-4, atol: 1e-4, label: `grad ${i}` });
    });
  });

  it('Conv2DBackpropFilter with NCHW data throws RelkdError INVALID_OPTION and leaks nothing', () => {
    tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 4, 4]);
    const dy = tf.zeros([1, 3, 4, 4]);
    const before = tf.backend().numDataIds();
    expectRelkdError(
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          strides: 1,
          pad: 'same',
          dataFormat: 'NCHW',
          filterShape: [1, 1, 2, 3],
        } as unknown as tf.NamedAttrMap),
      'INVALID_OPTION',
    );
    expect(tf.backend().numDataIds()).toBe(before);
    tf.dispose([x, dy]);
  });

  describe('UnsortedSegmentSum', () => {
    it.each([
      {
        name: 'float rows, duplicates',
        x: [6, 3],
        ids: [0, 2, 2, 1, 0, 2],
        num: 4,
        dtype: 'float32' as const,
      },
      {
        name: 'out-of-range and negative ids dropped',
        x: [6, 3],
        ids: [0, 2, 2, -1, 5, 1],
        num: 4,
        dtype: 'float32' as const,
      },
      {
        name: 'all ids out of range',
        x: [3, 2],
        ids: [-1, 7, 9],
        num: 3,
        dtype: 'float32' as const,
      },
      { name: 'int32 data', x: [5, 2], ids: [1, 1, 0, 3, 1], num: 4, dtype: 'int32' as const },
      { name: 'rank-3 data', x: [4, 2, 3], ids: [3, 0, 3, 1], num: 5, dtype: 'float32' as const },
      {
        name: 'rank-1 data',
        x: [7],
        ids: [0, 1, 0, 1, 2, 2, 0],
        num: 3,
        dtype: 'float32' as const,
      },
    ])('$name matches cpu', ({ x, ids, num, dtype }) => {
      const size = x.reduce((a, b) => a * b);
      const xv =
        dtype === 'int32' ? values(size, 11).map((v) => Math.round(v * 50)) : values(size, 11);
      const inputs: Vals = {
        x: { values: xv, shape: x, dtype },
        segmentIds: { values: ids, shape: [ids.length], dtype: 'int32' },
      };
      const cpu = runKernel('cpu', 'UnsortedSegmentSum', inputs, { numSegments: num });
      const wasm = runKernel('wasm', 'UnsortedSegmentSum', inputs, { numSegments: num });
      expect(wasm.shape).toEqual(cpu.shape);
      // TF semantics: the output has the data's dtype. (The cpu kernel returns float32 for int32
      // data; the values agree.)
      expect(wasm.dtype).toBe(dtype);
      expectClose(wasm.values, cpu.values, TOL);
    });
  });

  it('property: random conv geometries match cpu (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 7 }),
          w: fc.integer({ min: 1, max: 7 }),
          ci: fc.integer({ min: 1, max: 10 }),
          co: fc.integer({ min: 1, max: 3 }),
          fh: fc.integer({ min: 1, max: 3 }),
          fw: fc.integer({ min: 1, max: 3 }),
          sh: fc.integer({ min: 1, max: 3 }),
          sw: fc.integer({ min: 1, max: 3 }),
          pad: fc.constantFrom<'same' | 'explicit'>('same', 'explicit'),
          pt: fc.integer({ min: 0, max: 2 }),
          pb: fc.integer({ min: 0, max: 2 }),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        ({ n, h, w, ci, co, fh, fw, sh, sw, pad, pt, pb, seed }) => {
          const x: [number, number, number, number] = [n, h, w, ci];
          const p: Pad =
            pad === 'same'
              ? 'same'
              : [
                  [0, 0],
                  [pt, pb],
                  [pb, pt],
                  [0, 0],
                ];
          if (pad === 'explicit' && (h + pt + pb < fh || w + pt + pb < fw)) return;
          const stride: [number, number] = [sh, sw];
          const fShape: [number, number, number, number] = [fh, fw, ci, co];
          const g = geometry(x, fShape, stride, 1, p, false);
          const xv = values(n * h * w * ci, seed);
          const dy = values(n * g.outHeight * g.outWidth * co, seed + 1);
          const inputs: Vals = {
            x: { values: xv, shape: x },
            dy: { values: dy, shape: [n, g.outHeight, g.outWidth, co] },
          };
          const attrs = { strides: stride, pad: p, dataFormat: 'NHWC', filterShape: fShape };
          expectClose(
            runKernel('wasm', 'Conv2DBackpropFilter', inputs, attrs).values,
            runKernel('cpu', 'Conv2DBackpropFilter', inputs, attrs).values,
            TOL,
          );
          const dShape: [number, number, number, number] = [fh, fw, ci, co];
          const gd = geometry(x, dShape, stride, 1, p, true);
          const dyd = values(n * gd.outHeight * gd.outWidth * ci * co, seed + 2);
          const fv = values(fh * fw * ci * co, seed + 3);
          const dyShape = [n, gd.outHeight, gd.outWidth, ci * co];
          const iInputs: Vals = {
            dy: { values: dyd, shape: dyShape },
            filter: { values: fv, shape: dShape },
          };
          const iAttrs = { strides: stride, pad: p, dilations: 1, inputShape: x };
          expectClose(
            runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', iInputs, iAttrs).values,
            runKernel('cpu', 'DepthwiseConv2dNativeBackpropInput', iInputs, iAttrs).values,
            TOL,
          );
        },
      ),
      { numRuns: 25, seed: 20240601 },
    );
  });
});

describe('end to end: tf.grad on wasm after useBackend matches cpu', () => {
  const x = () => tf.tensor4d(values(2 * 6 * 6 * 3, 21), [2, 6, 6, 3]);
  const losses: Record<string, () => tf.Tensor[]> = {
    'conv2d (filter and input, stride 2, same)': () => {
      const w = tf.tensor4d(values(3 * 3 * 3 * 4, 22), [3, 3, 3, 4]);
      return tf.grads((xx, k) =>
        tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, k as tf.Tensor4D, 2, 'same'))),
      )([x(), w]);
    },
    'conv2d (explicit padding)': () => {
      const w = tf.tensor4d(values(2 * 3 * 3 * 2, 23), [2, 3, 3, 2]);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [1, 0],
        [2, 1],
        [0, 0],
      ];
      return [tf.grad((k) => tf.sum(tf.sin(tf.conv2d(x(), k as tf.Tensor4D, 1, pad))))(w)];
    },
    'depthwiseConv2d (filter and input, multiplier 2, stride 2, valid)': () => {
      const w = tf.tensor4d(values(3 * 3 * 3 * 2, 24), [3, 3, 3, 2]);
      return tf.grads((xx, k) =>
        tf.sum(tf.square(tf.depthwiseConv2d(xx as tf.Tensor4D, k as tf.Tensor4D, 2, 'valid'))),
      )([x(), w]);
    },
    'separableConv2d (depthwise + pointwise filters)': () => {
      const dw = tf.tensor4d(values(3 * 3 * 3 * 1, 25), [3, 3, 3, 1]);
      const pw = tf.tensor4d(values(3 * 5, 26), [1, 1, 3, 5]);
      return tf.grads((a, b) =>
        tf.sum(tf.square(tf.separableConv2d(x(), a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
      )([dw, pw]);
    },
    'gather (embedding rows, repeated ids)': () => {
      const table = tf.tensor2d(values(10 * 4, 27), [10, 4]);
      const ids = tf.tensor1d([3, 1, 3, 9, 0, 3], 'int32');
      return [tf.grad((t) => tf.sum(tf.square(tf.gather(t, ids))))(table)];
    },
    'gather on axis 1': () => {
      const t3 = tf.tensor3d(values(2 * 5 * 3, 28), [2, 5, 3]);
      const ids = tf.tensor1d([4, 4, 0], 'int32');
      return [tf.grad((t) => tf.sum(tf.exp(tf.gather(t, ids, 1))))(t3)];
    },
  };

  it.each(Object.keys(losses))('%s', async (name) => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const grads = tf.tidy(losses[name] as () => tf.Tensor[]);
      const out = grads.map((g) => ({ shape: g.shape, values: Array.from(g.dataSync()) }));
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) {
      expect(wasm[i]?.shape).toEqual(cpu[i]?.shape);
      expectClose(wasm[i]?.values ?? [], cpu[i]?.values ?? [], {
        ...TOL,
        label: `${name} gradient ${i}`,
      });
    }
  });
});
