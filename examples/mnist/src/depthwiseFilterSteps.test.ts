import { Distiller } from '@relkd/layers';
import { methods } from '@relkd/layers/methods';
import { useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  depthwiseConv2dNativeBackpropFilterKernel,
  depthwiseConv2dNativeBackpropFilterPlainKernel,
} from '../../../packages/backend/src/wasm/depthwiseConv2dNativeBackpropFilter';
import { armById, configFor } from './arms';
import { buildStudent, buildTeacher } from './models';
import { loadTuned } from './tuning';

/**
 * End to end for the wasm depthwise filter gradient's row-wise loop, against the plain loop it
 * replaced: the arms whose modules run depthwise convolutions (CORSD's relation networks,
 * MTKD-SSR's stage heads and adapters), built as the MNIST benchmark builds them (tuned
 * configuration, 3-stage student, 28 x 28 digits, batch 64, the Distiller's default optimizer),
 * trained for a few steps with the new kernel and again, from the same seeds, with the old one:
 * every updated variable ends bit-identical. (A change of the order of the float64 additions alone
 * would rarely show after the one float32 rounding, so this test catches wrong taps and ranges;
 * the order itself is pinned on the float64 sums in `depthwiseConv2dNativeBackpropFilter.test.ts`.)
 */
const STEPS = 3;
const BATCH = 64;

describe('wasm depthwise filter gradient, row-wise loop against the plain loop, whole steps', () => {
  let teacher: ReturnType<typeof buildTeacher>;
  let heads: tf.Tensor[];
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await useTestBackend('wasm');
    teacher = buildTeacher(1);
    // MTKD-SSR's teacher stage heads: any weights of the fitted shapes (here their initial ones)
    const s = buildStudent(5);
    const r = methods.mtkd.recipe({
      teacher: teacher.model,
      student: s.model,
      stages: { teacher: teacher.stages, student: s.stages },
      numClasses: 10,
    });
    heads = r.teacherHeads!.getWeights().map((w) => tf.keep(w.clone()));
    r.stageModules.dispose();
    r.dispose();
    s.model.dispose();
    x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    y = tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % 10),
      'int32',
    );
  });
  afterAll(() => {
    teacher.model.dispose();
    tf.dispose([...heads, x, y]);
  });

  /** Every updated variable after `STEPS` steps of `armId`, with `kernelFunc` as kernel `name`. */
  function train(armId: string, name: string, kernelFunc: tf.KernelFunc): Uint32Array[] {
    const base = tf.getKernel(name, 'wasm')!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...base, kernelFunc });
    const arm = armById(armId);
    const student = buildStudent(31);
    const t = arm.teacher === undefined ? undefined : teacher;
    const parts = arm.build({
      student,
      teacher: t,
      numClasses: 10,
      config: configFor(arm, loadTuned().configs),
      seed: 31,
      teacherHeadWeights: heads as never,
    });
    const d = new Distiller({ student: student.model, teacher: t?.model, seed: 31, ...parts });
    try {
      for (let i = 0; i < STEPS; i++) d.step(x, y);
      return d.varList().map((v) => new Uint32Array(new Float32Array(v.dataSync()).buffer));
    } finally {
      d.dispose();
      (parts as { dispose?: () => void }).dispose?.();
      student.model.dispose();
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(base);
    }
  }

  const CASES: Array<[string, string, () => [tf.KernelFunc, tf.KernelFunc]]> = [
    [
      'corsd',
      'DepthwiseConv2dNativeBackpropFilter',
      () => [
        depthwiseConv2dNativeBackpropFilterKernel,
        depthwiseConv2dNativeBackpropFilterPlainKernel,
      ],
    ],
    [
      'mtkd',
      'DepthwiseConv2dNativeBackpropFilter',
      () => [
        depthwiseConv2dNativeBackpropFilterKernel,
        depthwiseConv2dNativeBackpropFilterPlainKernel,
      ],
    ],
  ];

  it.each(CASES)(
    '%s with the new %s: bit-identical weights after a few steps',
    (armId, name, kernels) => {
      const [fresh, previous] = kernels();
      let calls = 0;
      const counting: tf.KernelFunc = (args) => {
        calls++;
        return fresh(args);
      };
      const rows = train(armId, name, counting);
      const plain = train(armId, name, previous);
      // the arm does run the kernel
      expect(calls).toBeGreaterThan(0);
      expect(rows.length).toBe(plain.length);
      let differing = 0;
      for (let v = 0; v < rows.length; v++) {
        const a = rows[v] as Uint32Array;
        const b = plain[v] as Uint32Array;
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
      }
      expect(differing).toBe(0);
    },
    120_000,
  );
});
