// Type test of the package's main function (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests): its semver-public signature.

import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CorsdLossInputs,
  type CorsdLossOptions,
  type CorsdLossResult,
  corsdLoss,
} from './index';

describe('corsdLoss signature', () => {
  it('takes (CorsdLossInputs, CorsdLossOptions?) and returns { total, kd, ce, negKd, negCe, triplet, score } of scalars', () => {
    expectTypeOf(corsdLoss).parameters.toEqualTypeOf<[CorsdLossInputs, CorsdLossOptions?]>();
    expectTypeOf(corsdLoss).returns.toEqualTypeOf<CorsdLossResult>();
    expectTypeOf<keyof CorsdLossResult>().toEqualTypeOf<
      'total' | 'kd' | 'ce' | 'negKd' | 'negCe' | 'triplet' | 'score'
    >();
    expectTypeOf<CorsdLossResult[keyof CorsdLossResult]>().toEqualTypeOf<tf.Scalar>();
  });
});
