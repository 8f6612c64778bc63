import { corsd } from './recipes/corsd';
import { icc, iccTeacher } from './recipes/icc';
import { kd } from './recipes/kd';
import { mtkd } from './recipes/mtkd';
import { stkd } from './recipes/stkd';
import { vrm } from './recipes/vrm';

export type { CorsdRecipe, CorsdRecipeOptions } from './recipes/corsd';
export type { IccRecipeOptions, IccTeacherRecipeOptions } from './recipes/icc';
export type { KdRecipeOptions } from './recipes/kd';
export type { MtkdRecipe, MtkdRecipeOptions, MtkdTeacherHeads } from './recipes/mtkd';
export { stageShapes } from './recipes/shared';
export type { StkdRecipeOptions } from './recipes/stkd';
export { VRM_RECIPE_UEP, type VrmRecipeOptions } from './recipes/vrm';

/**
 * Ready-made {@link DistillerParts} for each method, spread into a {@link Distiller} config
 * (one file per method under `recipes/`):
 *
 * ```ts
 * const distiller = new Distiller({ teacher, student, optimizer, ...recipes.vrm() });
 * await distiller.fit({ x, y }, { epochs: 10, batchSize: 64, progress: true });
 * ```
 */
export const recipes = { kd, vrm, stkd, icc, iccTeacher, mtkd, corsd };
