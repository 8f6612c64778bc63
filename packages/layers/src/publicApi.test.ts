// The semver-public API of @relkd/layers: what each entry exports (checked at run time) and the
// signatures users write against (`expectTypeOf`, checked by `tsc -p packages/layers`, i.e.
// `npm run typecheck`; the type assertions do nothing at run time).
import type { Module, RelkdError } from '@relkd/core';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  DistillData,
  DistillerConfig,
  DistillerParts,
  FitOptions,
  History,
  OfflineTeacherDataInfo,
  OfflineTeacherSource,
  StepResult,
  Tap,
  TapOutput,
  TapSpec,
} from './index';
import * as main from './index';
import type { MethodName } from './methods';
import * as methodsEntry from './methods';
import * as nodeEntry from './node';
import type { CorsdRecipe, CorsdRecipeOptions } from './recipes/corsd';
import * as corsdEntry from './recipes/corsd';
import type { IccRecipeOptions, IccTeacherRecipeOptions } from './recipes/icc';
import * as iccEntry from './recipes/icc';
import type { KdRecipeOptions } from './recipes/kd';
import * as kdEntry from './recipes/kd';
import type { MtkdRecipe, MtkdRecipeOptions } from './recipes/mtkd';
import * as mtkdEntry from './recipes/mtkd';
import type { StkdRecipeOptions } from './recipes/stkd';
import * as stkdEntry from './recipes/stkd';
import type { VrmRecipeOptions } from './recipes/vrm';
import * as vrmEntry from './recipes/vrm';

const names = (m: object) => Object.keys(m).sort();

describe('@relkd/layers public API', () => {
  it('each entry exports exactly its documented values', () => {
    expect(names(main)).toEqual([
      'Distiller',
      'evaluateModel',
      'isOfflineTeacher',
      'layerNames',
      'stageShapes',
      'tap',
    ]);
    expect(names(methodsEntry)).toEqual(['methodNames', 'methodOf', 'methods', 'recipes']);
    expect(names(nodeEntry)).toEqual([
      'fileSystem',
      'loadFromDirectory',
      'registerFileRouters',
      'saveToDirectory',
    ]);
    expect(names(kdEntry)).toEqual(['KD_RECIPE_DEFAULTS', 'kd']);
    expect(names(vrmEntry)).toEqual(['VRM_RECIPE_DEFAULTS', 'VRM_RECIPE_UEP', 'vrm']);
    expect(names(stkdEntry)).toEqual(['STKD_RECIPE_DEFAULTS', 'stkd']);
    expect(names(iccEntry)).toEqual([
      'ICC_RECIPE_DEFAULTS',
      'ICC_TEACHER_RECIPE_DEFAULTS',
      'icc',
      'iccTeacher',
    ]);
    expect(names(mtkdEntry)).toEqual(['MTKD_RECIPE_DEFAULTS', 'mtkd', 'mtkdOfflineStageShapes']);
    expect(names(corsdEntry)).toEqual(['CORSD_RECIPE_DEFAULTS', 'corsd']);
  });

  it('main entry signatures', () => {
    expectTypeOf(main.tap).toEqualTypeOf<(model: tfl.LayersModel, spec?: TapSpec) => Tap>();
    expectTypeOf<Tap>().toBeCallableWith({} as tf.Tensor);
    expectTypeOf<ReturnType<Tap>>().toEqualTypeOf<TapOutput>();
    expectTypeOf(main.layerNames).toEqualTypeOf<
      (model: tfl.LayersModel, prefix?: string) => string[]
    >();
    expectTypeOf(main.stageShapes).toEqualTypeOf<
      (model: tfl.LayersModel, layers: readonly string[]) => Array<[number, number, number]>
    >();
    expectTypeOf(main.evaluateModel).parameters.toEqualTypeOf<
      [Tap | tfl.LayersModel, tf.Tensor, tf.Tensor, number?]
    >();
    expectTypeOf(main.evaluateModel).returns.resolves.toEqualTypeOf<{
      accuracy: number;
      loss: number;
    }>();
    expectTypeOf(main.Distiller).constructorParameters.toEqualTypeOf<[DistillerConfig]>();
    expectTypeOf<DistillerConfig>().toExtend<DistillerParts>();
    expectTypeOf<main.Distiller['step']>().toEqualTypeOf<
      (x: tf.Tensor, y: tf.Tensor) => StepResult
    >();
    expectTypeOf<main.Distiller['stepAsync']>().toEqualTypeOf<
      (x: tf.Tensor, y: tf.Tensor, rows?: ArrayLike<number>) => Promise<StepResult>
    >();
    expectTypeOf<main.Distiller['offlineTeacher']>().toEqualTypeOf<
      OfflineTeacherSource | undefined
    >();
    expectTypeOf<DistillerConfig['teacher']>().toEqualTypeOf<
      tfl.LayersModel | OfflineTeacherSource | undefined
    >();
    expectTypeOf(main.isOfflineTeacher).toEqualTypeOf<(x: unknown) => x is OfflineTeacherSource>();
    expectTypeOf<OfflineTeacherSource['prepare']>().toEqualTypeOf<
      (info: OfflineTeacherDataInfo) => Promise<void>
    >();
    expectTypeOf<OfflineTeacherSource['gather']>().toEqualTypeOf<
      (indices: ArrayLike<number>) => Promise<TapOutput>
    >();
    expectTypeOf<main.Distiller['fit']>().toEqualTypeOf<
      (data: DistillData, options?: FitOptions) => Promise<History>
    >();
    expectTypeOf<main.Distiller['save']>().toEqualTypeOf<
      (target: string | tf.io.IOHandler) => Promise<tf.io.SaveResult>
    >();
    expectTypeOf<main.Distiller['load']>().toEqualTypeOf<
      (source: string | tf.io.IOHandler) => Promise<void>
    >();
    expectTypeOf<main.Distiller['varList']>().returns.toEqualTypeOf<tf.Variable[]>();
    expectTypeOf<main.Distiller['modules']>().toEqualTypeOf<
      ReadonlyArray<Module<never, tf.TensorContainer>>
    >();
  });

  it('recipe signatures: options in, Distiller parts out', () => {
    expectTypeOf(kdEntry.kd).toEqualTypeOf<(options?: KdRecipeOptions) => DistillerParts>();
    expectTypeOf(vrmEntry.vrm).toEqualTypeOf<(options?: VrmRecipeOptions) => DistillerParts>();
    expectTypeOf(stkdEntry.stkd).toEqualTypeOf<(options: StkdRecipeOptions) => DistillerParts>();
    expectTypeOf(iccEntry.icc).toEqualTypeOf<(options?: IccRecipeOptions) => DistillerParts>();
    expectTypeOf(iccEntry.iccTeacher).parameters.toEqualTypeOf<[IccTeacherRecipeOptions]>();
    expectTypeOf(iccEntry.iccTeacher).returns.toExtend<DistillerParts>();
    expectTypeOf(mtkdEntry.mtkd).toEqualTypeOf<(options: MtkdRecipeOptions) => MtkdRecipe>();
    expectTypeOf(corsdEntry.corsd).toEqualTypeOf<(options: CorsdRecipeOptions) => CorsdRecipe>();
    expectTypeOf<MtkdRecipe>().toExtend<DistillerParts>();
    expectTypeOf<CorsdRecipe>().toExtend<DistillerParts>();
    expectTypeOf<StkdRecipeOptions>().toHaveProperty('numClasses').toEqualTypeOf<number>();
  });

  it('registry signatures: each entry keeps its recipe type', () => {
    expectTypeOf<MethodName>().toEqualTypeOf<'kd' | 'vrm' | 'stkd' | 'icc' | 'mtkd' | 'corsd'>();
    expectTypeOf(methodsEntry.methods.vrm.recipe).toEqualTypeOf(vrmEntry.vrm);
    expectTypeOf(methodsEntry.methods.mtkd.recipe).toEqualTypeOf(mtkdEntry.mtkd);
    expectTypeOf(methodsEntry.methods.kd.defaults).toEqualTypeOf<
      Readonly<Partial<KdRecipeOptions>>
    >();
    expectTypeOf(methodsEntry.methods.icc.teacherRecipe).toEqualTypeOf<
      typeof iccEntry.iccTeacher | undefined
    >();
    expectTypeOf(methodsEntry.methods.corsd.needsTeacher).toEqualTypeOf<boolean>();
    expectTypeOf(methodsEntry.methodNames).toEqualTypeOf<readonly MethodName[]>();
    expectTypeOf(methodsEntry.methodOf('stkd')).toEqualTypeOf(methodsEntry.methods.stkd);
    expectTypeOf(methodsEntry.recipes.iccTeacher).toEqualTypeOf(iccEntry.iccTeacher);
    // Bad input is a typed error at run time; the type says what is thrown.
    expectTypeOf<RelkdError['code']>().toBeString();
  });
});
