// VRM on Dawn WebGPU (the `webgpu` test project): golden values and gradients of every option
// combination and path against the same float64 fixture as the cpu/wasm tests, leaks and a
// property test. Reads are asynchronous (`dataSync()` throws on Dawn in Node); tolerances:
// WEBGPU_VALUE_TOL in tools/testing/webgpu.ts, with this package's gradient atol (1e-5).

import {
  expectClose,
  expectNoLeakAsync,
  loadFixture,
  read,
  useWebGpuTestBackend,
  WEBGPU_GRAD_TOL,
  WEBGPU_VALUE_TOL,
} from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type UepOption, type VrmLossOptions, vrmLoss } from './index';

interface Case {
  inputs: string;
  options: Required<Pick<VrmLossOptions, 'zsNorm' | 'isEdges' | 'uep'>> & {
    weights: { is: number; ic: number };
  };
  total: number;
  is: number;
  ic: number;
  gradStudentReal: number[][];
  gradStudentVirtual: number[][];
}
type Views = Record<
  'studentReal' | 'studentVirtual' | 'teacherReal' | 'teacherVirtual',
  number[][]
>;
const fixture = loadFixture<{ inputs: Record<string, Views>; cases: Case[] }>(
  import.meta.url,
  'vrm',
);

const loss = (ss: tf.Tensor, sv: tf.Tensor, ts: tf.Tensor, tv: tf.Tensor, o: VrmLossOptions = {}) =>
  vrmLoss({ student: { real: ss, virtual: sv }, teacher: { real: ts, virtual: tv } }, o);

const GOLDEN = fixture.cases.flatMap((c) =>
  (c.options.uep.kind === 'clip' ? ['auto', 'direct'] : ['auto', 'gram', 'direct']).map(
    (path) =>
      [
        `${c.inputs} zs=${c.options.zsNorm} ${c.options.isEdges} uep=${JSON.stringify(c.options.uep)} w=${c.options.weights.is}/${c.options.weights.ic} path=${path}`,
        c,
        path as 'auto' | 'gram' | 'direct',
      ] as const,
  ),
);

describe('vrmLoss on webgpu (Dawn)', () => {
  beforeAll(async () => {
    await useWebGpuTestBackend();
  });

  it.each(GOLDEN)('golden: %s', async (_, c, path) => {
    await expectNoLeakAsync(async () => {
      const out = tf.tidy(() => {
        const d = fixture.inputs[c.inputs]!;
        const [ss, sv, ts, tv] = [
          d.studentReal,
          d.studentVirtual,
          d.teacherReal,
          d.teacherVirtual,
        ].map((m) => tf.tensor2d(m));
        const o = { ...c.options, path };
        const r = loss(ss!, sv!, ts!, tv!, o);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b, ts!, tv!, o).total)([
          ss!,
          sv!,
        ]);
        return [r.total, r.is, r.ic, ...grads];
      });
      const [total, is, ic, gr, gv] = await Promise.all(out.map(read));
      expectClose(total!, [c.total], { ...WEBGPU_VALUE_TOL, label: 'total' });
      expectClose(is!, [c.is], { ...WEBGPU_VALUE_TOL, label: 'is' });
      expectClose(ic!, [c.ic], { ...WEBGPU_VALUE_TOL, label: 'ic' });
      const gradTol = { ...WEBGPU_GRAD_TOL, atol: 1e-5 };
      expectClose(gr!, c.gradStudentReal.flat(), { ...gradTol, label: 'd/dStudentReal' });
      expectClose(gv!, c.gradStudentVirtual.flat(), { ...gradTol, label: 'd/dStudentVirtual' });
      tf.dispose(out);
    });
  });

  it('property: parts in [0, 4], finite total and gradients for random shapes and extreme values', async () => {
    const arb = fc.record({
      b: fc.integer({ min: 1, max: 4 }),
      c: fc.integer({ min: 1, max: 5 }),
      scale: fc.constantFrom(1e-3, 1, 100, 1e4),
      seed: fc.integer({ min: 0, max: 1e6 }),
      mode: fc.constantFrom('random', 'constantRows', 'duplicateRows', 'sameTeacher'),
      options: fc.record({
        zsNorm: fc.boolean(),
        isEdges: fc.constantFrom('cross' as const, 'upper' as const),
        uep: fc.constantFrom<UepOption>(
          { kind: 'none' },
          { kind: 'clip', delta: 0.2 },
          { kind: 'jointEntropy', ratio: 0.5 },
        ),
        path: fc.constantFrom('auto' as const, 'direct' as const),
      }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ b, c, scale, seed, mode, options }) => {
        const before = tf.memory().numTensors;
        const out = tf.tidy(() => {
          let [ss, sv, ts, tv] = [0, 1, 2, 3].map((k) =>
            tf.clipByValue(tf.randomNormal([b, c], 0, scale, 'float32', seed + k), -1e4, 1e4),
          );
          if (mode === 'constantRows') {
            ss = tf.fill([b, c], scale);
            tv = tf.fill([b, c], -scale);
          } else if (mode === 'duplicateRows') {
            sv = ss!;
            tv = tf.tile(tf.slice(ts!, [0, 0], [1, c]), [b, 1]);
          } else if (mode === 'sameTeacher') {
            ts = ss!;
            tv = sv!;
          }
          const r = loss(ss!, sv!, ts!, tv!, options);
          const gs = tf.grads((x: tf.Tensor, y: tf.Tensor) => loss(x, y, ts!, tv!, options).total)([
            ss!,
            sv!,
          ]);
          return [r.is, r.ic, r.total, ...gs];
        });
        const [is, ic, total, ...gs] = await Promise.all(out.map(read));
        for (const part of [is!, ic!]) {
          expect(part[0]).toBeGreaterThanOrEqual(0);
          expect(part[0]).toBeLessThanOrEqual(4 + 1e-5);
        }
        expect(Number.isFinite(total![0])).toBe(true);
        for (const g of gs) expect(g.every(Number.isFinite)).toBe(true);
        tf.dispose(out);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 20, seed: 7 },
    );
  });
});
