import { Dense, Module, ReLU } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';

/** What an MLP returns: logits and the hidden stages as NHWC `[B, 1, 1, width]` feature maps. */
export interface MlpOutput {
  logits: tf.Tensor2D;
  features: tf.Tensor4D[];
}

/** An MLP built from @relkd/core Modules that also exposes its hidden stages. */
export class Mlp extends Module<tf.Tensor, { logits: tf.Tensor; features: tf.Tensor[] }> {
  readonly widths: number[];
  private readonly hidden: Dense[];
  private readonly head: Dense;
  private readonly relu = new ReLU();

  constructor(widths: number[], seed: number) {
    super('Mlp');
    this.widths = widths;
    this.hidden = widths.map((w, i) =>
      this.addModule(
        `fc${i}`,
        new Dense({
          inUnits: i === 0 ? 784 : widths[i - 1]!,
          outUnits: w,
          init: 'heUniform',
          seed: seed * 31 + i,
        }),
      ),
    );
    this.head = this.addModule(
      'head',
      new Dense({ inUnits: widths.at(-1)!, outUnits: 10, seed: seed * 31 + 99 }),
    );
  }

  protected forward(x: tf.Tensor, training: boolean): MlpOutput {
    const features: tf.Tensor4D[] = [];
    let h = x;
    for (const fc of this.hidden) {
      h = this.relu.apply(fc.apply(h, { training }));
      features.push(tf.reshape(h, [h.shape[0]!, 1, 1, h.shape[1]!]));
    }
    return { logits: this.head.apply(h, { training }) as tf.Tensor2D, features };
  }

  run(x: tf.Tensor, training = false): MlpOutput {
    return this.apply(x, { training }) as MlpOutput;
  }
}

/** Test accuracy in [0, 1] (one read-back). */
export async function accuracy(model: Mlp, x: tf.Tensor2D, y: tf.Tensor1D): Promise<number> {
  const correct = tf.tidy(() => {
    const { logits } = model.run(x);
    return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
  });
  const v = (await correct.data())[0]!;
  correct.dispose();
  return v;
}
