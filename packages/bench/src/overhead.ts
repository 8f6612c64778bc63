import '@tensorflow/tfjs-backend-cpu';
import { crossEntropy, kdLoss } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { labels, logits } from './cases';

/** One A/B comparison of a training step. */
export interface OverheadRow {
  backend: string;
  method: string;
  baseMs: number;
  withMs: number;
  ratio: number;
}

/** The MNIST student of examples/mnist: a small CNN on 28x28x1 digits, 10 logits. */
export function mnistStudent(seed = 1): tfl.LayersModel {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + s });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(2),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(3) }),
      tfl.layers.dense({ units: 10, kernelInitializer: init(4) }),
    ],
  });
}

type Term = (s: tf.Tensor2D, t: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar;

/** Method terms added to CE in the A/B comparison (logit-based; each uses the teacher logits). */
export const TERMS: Record<string, Term> = {
  kd: (s, t) => kdLoss(s, t),
};

/**
 * Times the student's `optimizer.minimize` step with CE only (A) vs CE + a method term (B),
 * interleaved A/B/A/B on the same batch, and reports the median ratio.
 */
export async function trainingStepOverhead(
  backend: string,
  quick: boolean,
): Promise<OverheadRow[]> {
  const B = 64;
  const model = mnistStudent();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.sgd(0.01);
  const x = tf.randomNormal([B, 28, 28, 1], 0, 1, 'float32', 3);
  const y = labels(B, 10, 4);
  const t = logits(B, 10, 5);
  const step = (term?: Term): number => {
    const t0 = performance.now();
    const cost = opt.minimize(
      () => {
        const s = model.apply(x, { training: true }) as tf.Tensor2D;
        const ce = crossEntropy(s, y);
        return term ? (tf.add(ce, term(s, t, y)) as tf.Scalar) : ce;
      },
      true,
      vars,
    );
    cost?.dataSync();
    cost?.dispose();
    return performance.now() - t0;
  };
  const rounds = quick ? 5 : 25;
  const rows: OverheadRow[] = [];
  for (const [method, term] of Object.entries(TERMS)) {
    for (let i = 0; i < 3; i++) {
      step();
      step(term);
    }
    const ratios: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const ta = step();
      const tb = step(term);
      a.push(ta);
      b.push(tb);
      ratios.push(tb / ta);
    }
    const med = (v: number[]): number => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
    rows.push({ backend, method, baseMs: med(a), withMs: med(b), ratio: med(ratios) });
  }
  tf.dispose([x, y, t]);
  model.dispose();
  opt.dispose();
  return rows;
}
