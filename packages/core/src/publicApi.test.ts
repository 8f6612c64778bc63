// The semver-public API of @relkd/core: the exact set of runtime exports of the main entry, the
// plumbing on `@relkd/core/internal` only, and the public signatures (expectTypeOf: checked by
// `tsc` in `npm run typecheck`, which includes the tests).

import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CrossEntropyOptions,
  KdLossOptions,
  KlDivergenceOptions,
  RelkdErrorCode,
  RelkdWarningHandler,
  SampleBetaOptions,
  SoftCrossEntropyOptions,
  TensorInput,
  TfjsCoreCopy,
  TfjsCoreUser,
  ValidateMode,
  WeightedSum,
  ZScoreOptions,
} from './index';
import * as core from './index';
import * as internal from './internal';

/** The main entry's runtime exports (types are erased); the README lists the same. */
const PUBLIC = [
  'BatchNorm',
  'Conv2D',
  'Dense',
  'DepthwiseConv2D',
  'FusedAdamOptimizer',
  'GlobalAveragePool',
  'Module',
  'ReLU',
  'RelkdError',
  'Rng',
  'SepConv',
  'SeparableConv2D',
  'Sequential',
  'Sigmoid',
  'checkTfjsCore',
  'classGram',
  'connectedZero',
  'cosineSimilarityMatrix',
  'crossEntropy',
  'globalAveragePool',
  'gram',
  'heNormalFanOut',
  'isRelkdError',
  'kdLoss',
  'klDivergence',
  'l2Normalize',
  'oneHotFloat',
  'pairwiseSquaredDistances',
  'safeSqrt',
  'sampleBeta',
  'seededPermutation',
  'setWarningHandler',
  'softCrossEntropy',
  'stopGradient',
  'uniformInit',
  'weightedSum',
  'zScore',
];

const PLUMBING = [
  'BATCH_NORM_TRAIN',
  'BATCH_NORM_TRAIN_GRAD',
  'FUSED_ADAM',
  'FUSED_LOSS_KERNELS',
  'FUSED_SOFTMAX_KL',
  'FUSED_SOFT_CE',
  'assertNonEmpty',
  'assertNumber',
  'assertOneOf',
  'assertRank',
  'assertSameShape',
  'assertShape',
  'checkFinite',
  'checkModuleInput',
  'childSeed',
  'ensureGradients',
  'formatShape',
  'padSpatial',
  'resolveValidate',
  'toLabels',
  'toLogitPair',
  'toLogits',
  'toTensor',
  'warnIfProbabilities',
  'withoutGradient',
];

describe('@relkd/core public surface', () => {
  it('the main entry exports exactly the semver-public API', () => {
    expect(Object.keys(core).sort()).toEqual([...PUBLIC].sort());
  });

  it('the plumbing is on @relkd/core/internal, and only there', () => {
    expect(Object.keys(internal).sort()).toEqual([...PLUMBING].sort());
    for (const name of PLUMBING) expect(core).not.toHaveProperty(name);
  });

  it('public signatures', () => {
    type Logits = tf.Tensor2D | TensorInput;
    expectTypeOf(core.crossEntropy).parameters.toEqualTypeOf<
      [Logits, tf.Tensor1D | TensorInput, CrossEntropyOptions?]
    >();
    expectTypeOf(core.softCrossEntropy).parameters.toEqualTypeOf<
      [Logits, Logits, SoftCrossEntropyOptions?]
    >();
    expectTypeOf(core.kdLoss).parameters.toEqualTypeOf<[Logits, Logits, KdLossOptions?]>();
    expectTypeOf(core.klDivergence).parameters.toEqualTypeOf<
      [Logits, Logits, KlDivergenceOptions?]
    >();
    for (const loss of [core.crossEntropy, core.softCrossEntropy, core.kdLoss, core.klDivergence])
      expectTypeOf(loss).returns.toEqualTypeOf<tf.Scalar>();
    expectTypeOf<KdLossOptions['temperature']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<KlDivergenceOptions['scaleByTSquared']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<CrossEntropyOptions['validate']>().toEqualTypeOf<ValidateMode | undefined>();
    expectTypeOf<ValidateMode>().toEqualTypeOf<'shapes' | 'full'>();

    expectTypeOf(core.weightedSum<'ce' | 'kd'>)
      .parameter(0)
      .toEqualTypeOf<Record<'ce' | 'kd', tf.Scalar>>();
    expectTypeOf(core.weightedSum<'ce' | 'kd'>).returns.toEqualTypeOf<WeightedSum<'ce' | 'kd'>>();
    expectTypeOf<WeightedSum<'ce'>>().toEqualTypeOf<
      { total: tf.Scalar } & Record<'ce', tf.Scalar>
    >();

    expectTypeOf(core.stopGradient<tf.Tensor2D>).returns.toEqualTypeOf<tf.Tensor2D>();
    expectTypeOf(core.zScore<tf.Tensor2D>).parameters.toEqualTypeOf<
      [tf.Tensor2D | TensorInput, ZScoreOptions?]
    >();
    expectTypeOf(core.oneHotFloat).returns.toEqualTypeOf<tf.Tensor2D>();

    expectTypeOf(core.seededPermutation).parameters.toEqualTypeOf<[number, number | core.Rng]>();
    expectTypeOf(core.seededPermutation).returns.toEqualTypeOf<number[]>();
    expectTypeOf(core.sampleBeta).toBeCallableWith(2, 2, { seed: 1 } as SampleBetaOptions);
    expectTypeOf(core.Rng).constructorParameters.toEqualTypeOf<[number]>();
    expectTypeOf<core.Rng['next']>().toEqualTypeOf<() => number>();

    expectTypeOf(core.RelkdError).instance.toHaveProperty('code').toEqualTypeOf<RelkdErrorCode>();
    expectTypeOf(core.isRelkdError).guards.toEqualTypeOf<core.RelkdError>();
    expectTypeOf(core.setWarningHandler).parameters.toEqualTypeOf<
      [RelkdWarningHandler | undefined]
    >();
    expectTypeOf(core.checkTfjsCore).parameters.toEqualTypeOf<[(readonly TfjsCoreUser[])?]>();
    expectTypeOf(core.checkTfjsCore).returns.toEqualTypeOf<readonly TfjsCoreCopy[]>();

    expectTypeOf(core.Dense).instance.toHaveProperty('apply');
    expectTypeOf<InstanceType<typeof core.Dense>>().toExtend<core.Module>();
    expectTypeOf<ReturnType<core.Module['apply']>>().toEqualTypeOf<tf.Tensor>();

    expectTypeOf(core.FusedAdamOptimizer).constructorParameters.toEqualTypeOf<
      [number?, number?, number?, number?]
    >();
    expectTypeOf<core.FusedAdamOptimizer>().toExtend<tf.AdamOptimizer>();
  });
});
