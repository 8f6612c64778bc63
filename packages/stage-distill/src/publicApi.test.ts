// Type test of the package's main function (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests): its semver-public signature.

import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import { type MtkdInputs, type MtkdLossOptions, type MtkdLossResult, mtkdLoss } from './index';

describe('mtkdLoss signature', () => {
  it('takes (MtkdInputs, MtkdLossOptions?) and returns { total, ce, auxCe, scd, srd, crd } of scalars', () => {
    expectTypeOf(mtkdLoss).parameters.toEqualTypeOf<[MtkdInputs, MtkdLossOptions?]>();
    expectTypeOf(mtkdLoss).returns.toEqualTypeOf<MtkdLossResult>();
    expectTypeOf<keyof MtkdLossResult>().toEqualTypeOf<
      'total' | 'ce' | 'auxCe' | 'scd' | 'srd' | 'crd'
    >();
    expectTypeOf<MtkdLossResult[keyof MtkdLossResult]>().toEqualTypeOf<tf.Scalar>();
  });
});
