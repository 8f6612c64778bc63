// Type test of the package's main function (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests): its semver-public signature.

import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import { type StkdInputs, type StkdLossOptions, type StkdLossResult, stkdLoss } from './index';

describe('stkdLoss signature', () => {
  it('takes (StkdInputs, StkdLossOptions?) and returns { total, ce, kd } of scalars', () => {
    expectTypeOf(stkdLoss).parameters.toEqualTypeOf<[StkdInputs, StkdLossOptions?]>();
    expectTypeOf(stkdLoss).returns.toEqualTypeOf<StkdLossResult>();
    expectTypeOf<keyof StkdLossResult>().toEqualTypeOf<'total' | 'ce' | 'kd'>();
    expectTypeOf<StkdLossResult[keyof StkdLossResult]>().toEqualTypeOf<tf.Scalar>();
  });
});
