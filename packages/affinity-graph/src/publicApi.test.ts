// Type test of the package's main function (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests): its semver-public signature.

import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import { type VrmInputs, type VrmLossOptions, type VrmLossResult, vrmLoss } from './index';

describe('vrmLoss signature', () => {
  it('takes (VrmInputs, VrmLossOptions?) and returns { total, is, ic } of scalars', () => {
    expectTypeOf(vrmLoss).parameters.toEqualTypeOf<[VrmInputs, VrmLossOptions?]>();
    expectTypeOf(vrmLoss).returns.toEqualTypeOf<VrmLossResult>();
    expectTypeOf<keyof VrmLossResult>().toEqualTypeOf<'total' | 'is' | 'ic'>();
    expectTypeOf<VrmLossResult[keyof VrmLossResult]>().toEqualTypeOf<tf.Scalar>();
  });
});
