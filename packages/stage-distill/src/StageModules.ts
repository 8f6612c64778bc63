import { Module } from '@relkd/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ChannelAdapter } from './ChannelAdapter';
import { checkFeatureList, type StageHeads } from './StageHeads';
import type { StageMapping } from './stages';

/** What {@link StageModules.apply} returns. */
export interface StageModulesOutput {
  [key: string]: tf.Tensor[];
  /**
   * One entry per student stage: the adapted feature (teacher width) for every stage in the
   * mapping, an unchanged copy for stages outside it. Pass it with the same `mapping` to
   * `channelDistillationLoss` / `mtkdLoss`.
   */
  features: tf.Tensor[];
  /** The K − 1 stage-head logits `[B, C]`, shallow to deep (append the network's final logits). */
  logits: tf.Tensor[];
}

/**
 * Everything trainable a student needs for MTKD-SSR, as one {@link Module}: a
 * {@link ChannelAdapter} per mapped student stage and the student's {@link StageHeads}.
 * `apply(studentFeatures, { training })` takes the K student stage feature maps (NHWC) and
 * returns `{ features, logits }`; `trainableVariables`, `saveWeights()`/`loadWeights()` cover
 * adapters and heads together. Built by {@link buildStageModules}.
 *
 * @example
 * ```ts
 * const { features, logits } = student.apply(studentFeatures, { training: true });
 * const parts = mtkdLoss({ studentFeatures: features, teacherFeatures,
 *   studentStageLogits: [...logits, finalLogits], teacherStageLogits, labels }, { mapping: student.mapping });
 * ```
 */
export class StageModules extends Module<readonly tf.Tensor[], StageModulesOutput> {
  /** `[studentIdx, teacherIdx]` pairs; `adapters[p]` adapts student stage `mapping[p][0]`. */
  readonly mapping: Array<[number, number]>;
  readonly adapters: readonly ChannelAdapter[];
  readonly heads: StageHeads;
  readonly numStages: number;

  constructor(
    numStages: number,
    mapping: StageMapping,
    adapters: readonly ChannelAdapter[],
    heads: StageHeads,
    name = 'StageModules',
  ) {
    super(name);
    this.numStages = numStages;
    this.mapping = mapping.map(([s, t]) => [s, t]);
    this.adapters = adapters.map((a, p) => this.addModule(`adapter${p}`, a));
    this.heads = this.addModule('heads', heads);
  }

  protected forward(features: readonly tf.Tensor[], training: boolean): StageModulesOutput {
    checkFeatureList(features, [this.numStages], this.name);
    const adapted: tf.Tensor[] = features.map((f) => f);
    this.mapping.forEach(([s], p) => {
      adapted[s] = this.adapters[p]!.apply(features[s]!, { training });
    });
    const mapped = new Set(this.mapping.map(([s]) => s));
    const out = adapted.map((f, s) => (mapped.has(s) ? f : tf.clone(f)));
    return { features: out, logits: this.heads.apply(features, { training }) };
  }
}
