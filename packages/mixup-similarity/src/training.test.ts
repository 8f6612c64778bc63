import { Dense, ReLU, Sequential } from '@relkd/core';
import { BACKENDS, useTestBackend } from '@relkd/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mixup, type StkdTargetMode, stkdLoss } from './index';

/** End-to-end: the usage of docs/methods/stkd.md with small relkd Modules as models. */
describe.each(BACKENDS)('STKD training loop on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend(backend);
  });

  it.each<StkdTargetMode>([
    'teacherOnMixed',
    'mixedTeacherSoft',
  ])('trains the student only, and the loss goes down (%s)', (targetMode) => {
    const teacher = new Sequential([
      new Dense({ inUnits: 6, outUnits: 16, seed: 1 }),
      new ReLU(),
      new Dense({ inUnits: 16, outUnits: 4, seed: 2 }),
    ]);
    const student = new Dense({ inUnits: 6, outUnits: 4, seed: 3 });
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 4) as tf.Tensor2D;
    const labels = [0, 1, 2, 3, 0, 1, 2, 3];
    const teacherBefore = teacher.getWeights().map((w) => Array.from(w.dataSync()));
    const optimizer = tf.train.adam(0.05);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const m = mixup(x, labels, { numClasses: 4, seed: step % 3 });
      // The teacher runs outside the gradient (a plain forward pass, its output is data).
      const t = tf.tidy(
        () => teacher.apply(targetMode === 'teacherOnMixed' ? m.inputs : x) as tf.Tensor2D,
      );
      const teacherInput =
        targetMode === 'teacherOnMixed'
          ? t
          : { clean: t, lambda: m.lambda, permutation: m.permutation };
      const loss = optimizer.minimize(
        () => {
          const s = student.apply(m.inputs, { training: true }) as tf.Tensor2D;
          return stkdLoss({ student: s, teacher: teacherInput, targets: m.targets }, { targetMode })
            .total;
        },
        true,
        student.trainableVariables,
      );
      losses.push(loss!.dataSync()[0]!);
      tf.dispose([loss!, t, m]);
    }
    // no tensor growth per step (optimizer slots are created on the first step only)
    const after = tf.memory().numTensors;
    expect(after - before).toBeLessThanOrEqual(2 * student.trainableVariables.length + 2);
    expect(losses.every(Number.isFinite)).toBe(true);
    const firstThree = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const lastThree = (losses[27]! + losses[28]! + losses[29]!) / 3;
    expect(lastThree).toBeLessThan(0.7 * firstThree);
    teacher.getWeights().forEach((w, i) => {
      expect(Array.from(w.dataSync())).toEqual(teacherBefore[i]);
    });
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
    x.dispose();
  });
});
