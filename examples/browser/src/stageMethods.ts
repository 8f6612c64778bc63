import { crossEntropy, Rng } from '@relkd/core';
import {
  buildRelationNetworks,
  corsdLoss,
  relationStages,
  tripletIndices,
} from '@relkd/relation-network';
import { buildStageModules, mtkdLoss } from '@relkd/stage-distill';
import * as tf from '@tensorflow/tfjs-core';
import type { PageMethod } from './methods';

// Stage shapes of the page's MLPs: hidden layers as NHWC [1, 1, width] feature maps.
const STUDENT_STAGES: Array<[number, number, number]> = [
  [1, 1, 32],
  [1, 1, 16],
];
const TEACHER_STAGES: Array<[number, number, number]> = [
  [1, 1, 256],
  [1, 1, 128],
];

/** MTKD-SSR and CORSD need trainable extras (adapters + stage heads, relation networks). */
export function makeStageMethod(name: string): PageMethod {
  if (name === 'mtkd') {
    const set = buildStageModules({
      studentStages: STUDENT_STAGES,
      teacherStages: TEACHER_STAGES,
      numClasses: 10,
      seed: 3,
    });
    return {
      modules: [set.student],
      loss: ({ x, y, student, teacher }) => {
        const s = student.run(x, true);
        const t = teacher.run(x);
        const { features, logits } = set.student.apply(s.features, { training: true });
        // The page's teacher has no stage heads: every student stage learns from the teacher's
        // final logits (SRD), stage features match through the adapters (SCD).
        const studentStageLogits = [...logits, s.logits];
        const out = mtkdLoss(
          {
            studentFeatures: features,
            teacherFeatures: t.features,
            studentStageLogits,
            teacherStageLogits: studentStageLogits.map(() => t.logits),
            labels: y,
          },
          { mapping: set.mapping },
        );
        return {
          total: out.total,
          parts: { ce: out.ce, auxCe: out.auxCe, scd: out.scd, srd: out.srd, crd: out.crd },
        };
      },
      dispose: () => set.dispose(),
    };
  }
  if (name === 'corsd') {
    const nets = buildRelationNetworks({ stageShapes: STUDENT_STAGES, numClasses: 10, seed: 5 });
    const rng = new Rng(5);
    return {
      modules: nets,
      loss: ({ x, y, student }) => {
        const s = student.run(x, true);
        const triplets = tripletIndices(y, { rng });
        const stages = relationStages(nets, s.features, triplets, { training: true });
        const out = corsdLoss({ stages, anchorLabels: y, negativeLabels: triplets.negativeLabels });
        const ce = crossEntropy(s.logits, y);
        return {
          total: tf.add(ce, out.total) as tf.Scalar,
          parts: { ce, corsd: out.total, triplet: out.triplet },
        };
      },
      dispose: () => {
        for (const n of nets) n.dispose();
      },
    };
  }
  throw new Error(`unknown method '${name}'`);
}
