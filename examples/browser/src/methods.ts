import { type VirtualViewOp, virtualView, vrmLoss } from '@relkd/affinity-graph';
import { iccStudentLoss } from '@relkd/class-correlation';
import { crossEntropy, kdLoss, type Module } from '@relkd/core';
import { mixup, stkdLoss } from '@relkd/mixup-similarity';
import * as tf from '@tensorflow/tfjs-core';
import type { Mlp, MlpOutput } from './models';
import { makeStageMethod } from './stageMethods';

/** What one student step needs. */
export interface StepContext {
  x: tf.Tensor2D; // [B, 784]
  y: tf.Tensor1D; // [B] int32
  student: Mlp;
  teacher: Mlp;
  step: number;
}

/** A distillation method for the page: extra trainable modules and the loss of one step. */
export interface PageMethod {
  modules: Module<never, tf.TensorContainer>[];
  /** Returns the scalar to minimise and its named parts (all scalars). */
  loss(ctx: StepContext): { total: tf.Scalar; parts: Record<string, tf.Scalar> };
  dispose(): void;
}

const asImages = (x: tf.Tensor2D): tf.Tensor4D => tf.reshape(x, [x.shape[0], 28, 28, 1]);
const flat = (x: tf.Tensor): tf.Tensor2D => tf.reshape(x, [x.shape[0]!, 784]);
/** Teacher forward without a gradient path (its variables are not in the var list either). */
const teach = (teacher: Mlp, x: tf.Tensor): MlpOutput => teacher.run(x);

function simple(loss: PageMethod['loss']): PageMethod {
  return { modules: [], loss, dispose: () => {} };
}

/** Builds the method the page runs. `ce` is the baseline. */
export function makeMethod(name: string): PageMethod {
  switch (name) {
    case 'ce':
      return simple(({ x, y, student }) => {
        const ce = crossEntropy(student.run(x, true).logits, y);
        return { total: ce, parts: { ce } };
      });
    case 'kd':
      return simple(({ x, y, student, teacher }) => {
        const s = student.run(x, true).logits;
        const ce = crossEntropy(s, y);
        const kd = kdLoss(s, teach(teacher, x).logits, { temperature: 4 });
        return { total: tf.add(tf.mul(ce, 0.1), tf.mul(kd, 0.9)) as tf.Scalar, parts: { ce, kd } };
      });
    case 'vrm':
      return simple(({ x, y, student, teacher, step }) => {
        const xv = flat(
          virtualView(asImages(x), { numOps: 2, magnitude: 9, seed: step, ops: DIGIT_SAFE_OPS }),
        );
        const sReal = student.run(x, true).logits;
        const sVirt = student.run(xv, true).logits;
        const vrm = vrmLoss({
          student: { real: sReal, virtual: sVirt },
          teacher: { real: teach(teacher, x).logits, virtual: teach(teacher, xv).logits },
        });
        const ce = crossEntropy(sReal, y);
        return { total: tf.add(ce, vrm.total) as tf.Scalar, parts: { ce, is: vrm.is, ic: vrm.ic } };
      });
    case 'stkd':
      return simple(({ x, y, student, teacher, step }) => {
        const mixed = mixup(x, y, { numClasses: 10, alpha: 1, seed: step });
        const s = student.run(mixed.inputs, true).logits;
        const out = stkdLoss({
          student: s,
          teacher: teach(teacher, mixed.inputs).logits,
          targets: mixed.targets,
        });
        return { total: out.total, parts: { ce: out.ce, kd: out.kd } };
      });
    case 'icc':
      return simple(({ x, y, student, teacher }) => {
        const out = iccStudentLoss({
          student: student.run(x, true).logits,
          teacher: teach(teacher, x).logits,
          labels: y,
        });
        return { total: out.total, parts: { ce: out.ce, kd: out.kd, icc: out.icc } };
      });
    default:
      return makeStageMethod(name);
  }
}

/** Label-preserving virtual-view operations for digits (no flips). */
export const DIGIT_SAFE_OPS: VirtualViewOp[] = [
  'identity',
  'brightness',
  'contrast',
  'translateX',
  'translateY',
  'rotate',
  'shearX',
  'shearY',
];
