import { vrmLoss } from '@relkd/affinity-graph';
import { iccStudentLoss } from '@relkd/class-correlation';
import { kdLoss, Rng } from '@relkd/core';
import { stkdLoss } from '@relkd/mixup-similarity';
import { corsdLoss } from '@relkd/relation-network';
import {
  channelDistillationLoss,
  crossStageReviewLoss,
  mtkdLoss,
  stageResponseLoss,
} from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';

/** A benchmark case: a loss at fixed shapes, forward and forward + backward. */
export interface BenchCase {
  /** Loss name as in the report (`kd`, `vrm`, ...). */
  loss: string;
  /** Shape label (`cifar100`, `imagenet`, `sweep`). */
  shape: string;
  B: number;
  C: number;
  /** One call of the loss (its outputs are read back and disposed by the harness). */
  forward: () => tf.TensorContainer;
  /** One call of the loss and its gradients w.r.t. every student input. */
  backward: () => tf.TensorContainer;
  dispose: () => void;
}

/** A factory builds the inputs of one loss at `(B, C)` and returns its case. */
export type CaseFactory = (B: number, C: number, shape: string) => BenchCase;

/**
 * Stage features of a resnet8x4-sized student (CIFAR, 32x32 input), NHWC `[H, W, C_k]`. Its
 * usual teacher (resnet32x4) has the same stage widths, so SCD needs no adapter here. The same
 * shapes are used at every B (also for the ImageNet-like logits shape: feature cost is then
 * that of a CIFAR-sized backbone at B = 256).
 */
export const STAGE_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [32, 32, 64],
  [16, 16, 128],
  [8, 8, 256],
];

/** Seeded standard-normal logits scaled like a trained network's (std 3). */
export function logits(B: number, C: number, seed: number, scale = 3): tf.Tensor2D {
  return tf.tidy(
    () => tf.mul(tf.randomNormal([B, C], 0, 1, 'float32', seed), scale) as tf.Tensor2D,
  );
}

/** Seeded int32 labels in [0, C). */
export function labels(B: number, C: number, seed: number): tf.Tensor1D {
  const rng = new Rng(seed);
  return tf.tensor1d(
    Array.from({ length: B }, () => rng.int(C)),
    'int32',
  );
}

/** Seeded non-negative (post-ReLU-like) stage features `[B, H, W, C_k]`. */
export function features(B: number, seed: number): tf.Tensor4D[] {
  return STAGE_SHAPES.map((s, k) =>
    tf.tidy(
      () => tf.relu(tf.randomNormal([B, ...s], 0, 1, 'float32', seed * 10 + k)) as tf.Tensor4D,
    ),
  );
}

/** Mixed labels `λ·onehot(y) + (1−λ)·onehot(y[π])` with λ = 0.7 and π a rotation by one. */
function mixedTargets(B: number, C: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const y = labels(B, C, seed);
    const a = tf.cast(tf.oneHot(y, C), 'float32');
    const b = B > 1 ? tf.concat([tf.slice(a, [1, 0], [B - 1, C]), tf.slice(a, [0, 0], [1, C])]) : a;
    return tf.add(tf.mul(a, 0.7), tf.mul(b, 0.3)) as tf.Tensor2D;
  });
}

/**
 * Builds a case from inputs, a loss of the student tensors, and the student tensors to
 * differentiate. `f` returns the loss's result (a scalar or `{ total, ...parts }`); the backward
 * pass differentiates `total` (all parts are still computed, as a user logging them would).
 */
export function makeCase(
  loss: string,
  shape: string,
  B: number,
  C: number,
  students: tf.Tensor[],
  constants: tf.Tensor[],
  f: (...students: tf.Tensor[]) => tf.Scalar | { total: tf.Scalar },
): BenchCase {
  const total = (...xs: tf.Tensor[]): tf.Scalar => {
    const r = f(...xs);
    return r instanceof tf.Tensor ? r : r.total;
  };
  const g = tf.grads((...xs: tf.Tensor[]) => total(...xs));
  return {
    loss,
    shape,
    B,
    C,
    forward: () => f(...students) as tf.TensorContainer,
    backward: () => g(students),
    dispose: () => tf.dispose([...students, ...constants]),
  };
}

/** Hinton KD (`@relkd/core` kdLoss, T = 4). */
export const kdCase: CaseFactory = (B, C, shape) => {
  const s = logits(B, C, 1);
  const t = logits(B, C, 2);
  return makeCase('kd', shape, B, C, [s], [t], (x) => kdLoss(x as tf.Tensor2D, t));
};

/** VRM (`@relkd/affinity-graph` vrmLoss, defaults: zsNorm, cross IS edges, no UEP, Gram path). */
export const vrmCase: CaseFactory = (B, C, shape) => {
  const ss = logits(B, C, 1);
  const sv = logits(B, C, 2);
  const ts = logits(B, C, 3);
  const tv = logits(B, C, 4);
  return makeCase('vrm', shape, B, C, [ss, sv], [ts, tv], (a, b) =>
    vrmLoss({ student: { real: a!, virtual: b! }, teacher: { real: ts, virtual: tv } }),
  );
};

/** STKD (`@relkd/mixup-similarity` stkdLoss, teacher on the mixed batch, T = 4, CE 0.1, KD 0.9). */
export const stkdCase: CaseFactory = (B, C, shape) => {
  const s = logits(B, C, 1);
  const t = logits(B, C, 2);
  const targets = mixedTargets(B, C, 3);
  return makeCase('stkd', shape, B, C, [s], [t, targets], (x) =>
    stkdLoss({ student: x!, teacher: t, targets }),
  );
};

/**
 * ICC student objective (`@relkd/class-correlation` iccStudentLoss: CE + KD + ICC). The PyTorch
 * peer (tools/reference/bench_torch.py) computes the correlation at τ = 1, so the case pins
 * `correlationTemperature: 1` (the library default is now the KD temperature; the cost is the same).
 */
export const iccCase: CaseFactory = (B, C, shape) => {
  const s = logits(B, C, 1);
  const t = logits(B, C, 2);
  const y = labels(B, C, 3);
  return makeCase('icc', shape, B, C, [s], [t, y], (x) =>
    iccStudentLoss({ student: x!, teacher: t, labels: y }, { correlationTemperature: 1 }),
  );
};

/** SCD (`@relkd/stage-distill` channelDistillationLoss) on the three resnet8x4 stage features. */
export const scdCase: CaseFactory = (B, C, shape) => {
  const fs = features(B, 1);
  const ft = features(B, 2);
  return makeCase('scd', shape, B, C, fs, ft, (...xs) => channelDistillationLoss(xs, ft));
};

/** SRD (`@relkd/stage-distill` stageResponseLoss) over K = 3 stage logits, T = 4. */
export const srdCase: CaseFactory = (B, C, shape) => {
  const zs = [1, 2, 3].map((k) => logits(B, C, k));
  const zt = [4, 5, 6].map((k) => logits(B, C, k));
  return makeCase('srd', shape, B, C, zs, zt, (...xs) => stageResponseLoss(xs, zt));
};

/** CRD, cross-stage review (`@relkd/stage-distill` crossStageReviewLoss), K = 3, all previous. */
export const crdCase: CaseFactory = (B, C, shape) => {
  const zs = [1, 2, 3].map((k) => logits(B, C, k));
  return makeCase('crd', shape, B, C, zs, [], (...xs) => crossStageReviewLoss(xs));
};

/** Full MTKD-SSR (`@relkd/stage-distill` mtkdLoss): CE + auxCE + SCD + SRD + CRD, K = 3. */
export const mtkdCase: CaseFactory = (B, C, shape) => {
  const fs = features(B, 1);
  const ft = features(B, 2);
  const zs = [1, 2, 3].map((k) => logits(B, C, 10 + k));
  const zt = [4, 5, 6].map((k) => logits(B, C, 10 + k));
  const y = labels(B, C, 7);
  return makeCase('mtkd', shape, B, C, [...fs, ...zs], [...ft, ...zt, y], (...xs) =>
    mtkdLoss({
      studentFeatures: xs.slice(0, 3),
      teacherFeatures: ft,
      studentStageLogits: xs.slice(3),
      teacherStageLogits: zt,
      labels: y,
    }),
  );
};

/**
 * CORSD (`@relkd/relation-network` corsdLoss, released-code defaults) on K = 3 stages of
 * relation-network outputs (scores in (0, 1), `[B, 1]`; logits `[B, C]`) for positive and
 * negative pairs. The relation networks themselves are not in this case (see `corsd-rn`).
 */
export const corsdCase: CaseFactory = (B, C, shape) => {
  const leaves: tf.Tensor[] = [];
  for (let k = 0; k < 3; k++) {
    leaves.push(
      tf.tidy(() => tf.sigmoid(tf.randomNormal([B, 1], 0, 1, 'float32', 40 + k))),
      logits(B, C, 50 + k),
      tf.tidy(() => tf.sigmoid(tf.randomNormal([B, 1], 0, 1, 'float32', 60 + k))),
      logits(B, C, 70 + k),
    );
  }
  const ya = labels(B, C, 8);
  const yn = tf.tidy(() =>
    tf.mod(tf.add(ya, tf.scalar(1, 'int32')), tf.scalar(C, 'int32')),
  ) as tf.Tensor1D;
  return makeCase('corsd', shape, B, C, leaves, [ya, yn], (...xs) =>
    corsdLoss({
      stages: [0, 1, 2].map((k) => ({
        positive: { score: xs[4 * k]!, logits: xs[4 * k + 1]! },
        negative: { score: xs[4 * k + 2]!, logits: xs[4 * k + 3]! },
      })),
      anchorLabels: ya,
      negativeLabels: yn,
    }),
  );
};

/** Every benchmarked loss by report name, in report order. */
export const CASES: Record<string, CaseFactory> = {
  kd: kdCase,
  vrm: vrmCase,
  stkd: stkdCase,
  icc: iccCase,
  scd: scdCase,
  srd: srdCase,
  crd: crdCase,
  mtkd: mtkdCase,
  corsd: corsdCase,
};
