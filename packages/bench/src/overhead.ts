import { virtualView, vrmLoss } from '@relkd/affinity-graph';
import { iccStudentLoss } from '@relkd/class-correlation';
import { crossEntropy, kdLoss, Rng } from '@relkd/core';
import { mixupWith, stkdLoss } from '@relkd/mixup-similarity';
import {
  buildRelationNetworks,
  corsdLoss,
  relationStages,
  tripletIndices,
} from '@relkd/relation-network';
import { buildStageModules, mtkdLoss } from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
// The student of the MNIST example (imported, not copied: the benchmark times that very model).
import { buildStudent } from '../../../examples/mnist/src/models';
import { logits } from './cases';

/** One A/B comparison of a training step. */
export interface OverheadRow {
  backend: string;
  method: string;
  /** What B adds to A, in words. */
  note: string;
  /** Median ms of the baseline step (A). */
  baseMs: number;
  /** Median ms of the step with the method (B). */
  withMs: number;
  /** Median over rounds of B/A, each round timing A and B back to back (order alternating). */
  ratio: number;
  /** 10th and 90th percentile of the per-round ratio. */
  ratioP10: number;
  ratioP90: number;
  rounds: number;
}

/** The student's stage outputs and logits: `[pool1 [B,14,14,8], pool2 [B,7,7,16], logits [B,10]]`. */
type StudentOut = [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D];

/** What one step computes on top of the student's outputs; returns the loss to minimise. */
type StepLoss = (out: () => StudentOut) => tf.Scalar;

interface Variant {
  method: string;
  note: string;
  /** Baseline loss A. */
  base: StepLoss;
  /** Loss B (baseline + the method's terms). */
  with: StepLoss;
  /** Extra trainable variables of B (adapters, heads, relation networks). */
  extraVars?: tf.Variable[];
}

const median = (v: number[]): number => {
  const s = [...v].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
};
const quantile = (v: number[], q: number): number => {
  const s = [...v].sort((p, q2) => p - q2);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
};

/**
 * Times the 2-stage MNIST student's `optimizer.minimize` step (examples/mnist `buildStudent(seed,
 * '2stage')`, batch 64,
 * SGD) with CE only (A) vs CE + a method's terms (B), interleaved A/B, B/A, ... on the same batch
 * and backend, and reports the median ratio B/A. Teacher outputs (logits, stage features) are
 * precomputed constants: the teacher's forward pass is the same for every teacher-based method
 * and is not a cost of the loss. Methods that need extra student forwards (VRM: the virtual
 * view; STKD: the mixed batch replaces the clean one) pay for them inside B.
 */
export async function trainingStepOverhead(
  backend: string,
  quick: boolean,
  log: (msg: string) => void = () => {},
): Promise<OverheadRow[]> {
  const B = 64;
  const C = 10;
  // The 2-stage MNIST student (`--arch 2stage`): the stage shapes below are its.
  const net = buildStudent(1, '2stage');
  const student = tfl.model({
    inputs: net.model.inputs,
    outputs: [
      ...net.stages.map((name) => net.model.getLayer(name).output as tfl.SymbolicTensor),
      net.model.outputs[0]!,
    ],
  });
  const studentVars = student.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.sgd(0.01);
  const rng = new Rng(4);
  const yArray = Array.from({ length: B }, () => rng.int(C));
  const y = tf.tensor1d(yArray, 'int32');
  const x = tf.tidy(() => tf.sigmoid(tf.randomNormal([B, 28, 28, 1], 0, 2, 'float32', 3)));
  const xv = virtualView(x, { seed: 5, magnitude: 15 });
  const t = logits(B, C, 5);
  const tv = logits(B, C, 6);
  const tMixed = logits(B, C, 7);
  const teacherFeatures = [
    tf.tidy(() => tf.relu(tf.randomNormal([B, 14, 14, 16], 0, 1, 'float32', 8))),
    tf.tidy(() => tf.relu(tf.randomNormal([B, 7, 7, 32], 0, 1, 'float32', 9))),
  ];
  const teacherStageLogits = [logits(B, C, 10), t];
  const perm = Array.from({ length: B }, (_, i) => (i + 1) % B);
  const stage = buildStageModules({
    studentStages: [
      [14, 14, 8],
      [7, 7, 16],
    ],
    teacherStages: [
      [14, 14, 16],
      [7, 7, 32],
    ],
    numClasses: C,
    seed: 1,
  });
  const nets = buildRelationNetworks({
    stageShapes: [
      [14, 14, 8],
      [7, 7, 16],
    ],
    numClasses: C,
    seed: 1,
  });
  const apply = (input: tf.Tensor): StudentOut =>
    student.apply(input, { training: true }) as unknown as StudentOut;
  const ce: StepLoss = (out) => crossEntropy(out()[2], y);
  /** Student on the real batch and `view` in one pass; CE on the real half + vrmLoss. */
  const vrmStep = (view: tf.Tensor): tf.Scalar => {
    const [sr, sv] = tf.split(apply(tf.concat([x, view]))[2], 2);
    return tf.add(
      crossEntropy(sr!, y),
      vrmLoss({ student: { real: sr!, virtual: sv! }, teacher: { real: t, virtual: tv } }).total,
    ) as tf.Scalar;
  };

  const variants: Variant[] = [
    {
      method: 'kd',
      note: 'CE + kdLoss (T = 4)',
      base: ce,
      with: (out) => {
        const s = out()[2];
        return tf.add(crossEntropy(s, y), kdLoss(s, t)) as tf.Scalar;
      },
    },
    {
      method: 'stkd',
      note: 'mixupWith (λ = 0.7) + stkdLoss total (its mixed-label CE replaces CE)',
      base: ce,
      with: () => {
        const m = mixupWith(x, y, { numClasses: C, lambda: 0.7, permutation: perm });
        const s = apply(m.inputs)[2];
        const r = stkdLoss({ student: s, teacher: tMixed, targets: m.targets });
        return r.total;
      },
    },
    {
      method: 'icc',
      note: 'iccStudentLoss total (CE + KD + ICC)',
      base: ce,
      with: (out) => iccStudentLoss({ student: out()[2], teacher: t, labels: y }).total,
    },
    {
      method: 'vrm',
      note: 'student on real + virtual view (2B rows), CE on the real view + vrmLoss (virtual view precomputed)',
      base: ce,
      with: () => vrmStep(xv),
    },
    {
      method: 'vrm (term only)',
      note: 'A = student on both views + CE on the real view; B = A + vrmLoss: the loss term alone',
      base: () => {
        const s = apply(tf.concat([x, xv]))[2];
        return crossEntropy(tf.slice(s, [0, 0], [B, C]), y);
      },
      with: () => vrmStep(xv),
    },
    {
      method: 'vrm (+ virtualView)',
      note: 'as vrm, plus virtualView (RandAugment, 2 ops, magnitude 15 of 30) of the batch every step',
      base: ce,
      with: () => vrmStep(virtualView(x, { seed: 5, magnitude: 15 })),
    },
    {
      method: 'mtkd',
      note: 'ChannelAdapters + StageHead on the student stages + mtkdLoss total (CE + auxCE + SCD + SRD + CRD)',
      base: ce,
      with: (out) => {
        const [f1, f2, s] = out();
        const m = stage.student.apply([f1, f2], { training: true });
        return mtkdLoss(
          {
            studentFeatures: m.features,
            teacherFeatures,
            studentStageLogits: [...m.logits, s],
            teacherStageLogits,
            labels: y,
          },
          { mapping: stage.mapping },
        ).total;
      },
      extraVars: stage.student.trainableVariables,
    },
    {
      method: 'corsd',
      note: 'CE + tripletIndices (JS labels) + 2 relation networks on the stage pairs + corsdLoss',
      base: ce,
      with: (out) => {
        const [f1, f2, s] = out();
        const idx = tripletIndices(yArray, { seed: 3 });
        const stages = relationStages(nets, [f1, f2], idx, { training: true });
        const r = corsdLoss({ stages, anchorLabels: y, negativeLabels: idx.negativeLabels });
        return tf.add(crossEntropy(s, y), r.total) as tf.Scalar;
      },
      extraVars: nets.flatMap((n) => n.trainableVariables),
    },
  ];

  const step = (loss: StepLoss, vars: tf.Variable[]): number => {
    const t0 = performance.now();
    const cost = opt.minimize(
      () => {
        let cached: StudentOut | null = null;
        return loss(() => {
          cached ??= apply(x);
          return cached;
        });
      },
      true,
      vars,
    );
    cost?.dataSync();
    cost?.dispose();
    return performance.now() - t0;
  };

  const rounds = quick ? 5 : 20;
  const rows: OverheadRow[] = [];
  const before = tf.memory().numTensors;
  for (const v of quick ? variants.filter((w) => w.method === 'kd') : variants) {
    const varsB = [...studentVars, ...(v.extraVars ?? [])];
    for (let i = 0; i < 2; i++) {
      step(v.base, studentVars);
      step(v.with, varsB);
    }
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let ta: number;
      let tb: number;
      if (i % 2 === 0) {
        ta = step(v.base, studentVars);
        tb = step(v.with, varsB);
      } else {
        tb = step(v.with, varsB);
        ta = step(v.base, studentVars);
      }
      a.push(ta);
      b.push(tb);
      ratios.push(tb / ta);
    }
    const row: OverheadRow = {
      backend,
      method: v.method,
      note: v.note,
      baseMs: median(a),
      withMs: median(b),
      ratio: median(ratios),
      ratioP10: quantile(ratios, 0.1),
      ratioP90: quantile(ratios, 0.9),
      rounds,
    };
    log(
      `  step ${v.method}: CE ${row.baseMs.toFixed(2)} ms, with ${row.withMs.toFixed(2)} ms, ratio ${row.ratio.toFixed(3)}`,
    );
    rows.push(row);
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) log(`  WARNING: training steps leaked ${leaked} tensors`);
  tf.dispose([x, xv, y, t, tv, tMixed, ...teacherFeatures, teacherStageLogits[0]!]);
  stage.dispose();
  for (const n of nets) n.dispose();
  student.dispose();
  opt.dispose();
  return rows;
}
