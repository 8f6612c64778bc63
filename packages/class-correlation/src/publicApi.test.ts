// Type test of the package's main function (expectTypeOf: checked by `tsc` in
// `npm run typecheck`, which includes the tests): its semver-public signature.

import type { TensorInput } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type IccLossOptions,
  type IccStudentInputs,
  type IccStudentLossOptions,
  type IccStudentLossResult,
  iccLoss,
  iccStudentLoss,
} from './index';

describe('iccStudentLoss signature', () => {
  it('takes (IccStudentInputs, IccStudentLossOptions?) and returns { total, ce, kd, icc } of scalars', () => {
    expectTypeOf(iccStudentLoss).parameters.toEqualTypeOf<
      [IccStudentInputs, IccStudentLossOptions?]
    >();
    expectTypeOf(iccStudentLoss).returns.toEqualTypeOf<IccStudentLossResult>();
    expectTypeOf<keyof IccStudentLossResult>().toEqualTypeOf<'total' | 'ce' | 'kd' | 'icc'>();
    expectTypeOf<IccStudentLossResult[keyof IccStudentLossResult]>().toEqualTypeOf<tf.Scalar>();
  });
});

describe('iccLoss signature', () => {
  it('takes (student, teacher, IccLossOptions?) logits and returns a scalar', () => {
    expectTypeOf(iccLoss).parameters.toEqualTypeOf<
      [tf.Tensor2D | TensorInput, tf.Tensor2D | TensorInput, IccLossOptions?]
    >();
    expectTypeOf(iccLoss).returns.toEqualTypeOf<tf.Scalar>();
  });
});
