/**
 * `--tune`: a small fixed grid per method (its main weight(s) and temperature, at most 6
 * configurations each, the same budget for every family including KD), chosen by validation
 * accuracy (mean over 2 seeds). The choice is committed in `tuned.json` and read by the default
 * and `--full` runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config, Family } from './arms';

/** Settings every configuration of a family shares (not tuned). */
export const FIXED: Record<Family, Config> = {
  ce: {},
  kd: {},
  vrm: { isEdges: 'cross', isWeight: 1, icWeight: 1, magnitude: 9, uepDelta: 0.5 },
  stkd: { alpha: 1, targetMode: 'teacherOnMixed' },
  icc: {},
  mtkd: { scd: 1, srd: 1, crd: 1, teacherHeads: 'pretrain' },
  corsd: { pairCe: true, negative: true, tripletScore: true, distill: true },
  selfkd: {},
};

/** The grid of each tuned family (≤ 6 configurations). */
export const GRIDS: Record<Exclude<Family, 'ce'>, Config[]> = {
  kd: cross({ temperature: [2, 4, 8], alpha: [0.5, 0.9] }),
  vrm: cross({ weight: [1, 4, 16] }).flatMap((c) => [
    { ...c, uep: 'jointEntropy', uepRatio: 0.1 },
    { ...c, uep: 'jointEntropy', uepRatio: 0.3 },
  ]),
  stkd: cross({ temperature: [2, 4, 8], kdWeight: [0.5, 0.9] }),
  icc: cross({ temperature: [2, 4, 8], iccWeight: [1, 10] }),
  mtkd: cross({ temperature: [2, 4], weight: [0.5, 1, 2] }),
  corsd: cross({ weight: [1, 4, 16], tSquared: [false, true] }),
  selfkd: cross({ temperature: [2, 4, 8], weight: [0.5, 1] }),
};

/** The configurations used before any tuning (the recipes' defaults where they exist). */
export const UNTUNED: Record<Family, Config> = {
  ce: {},
  kd: { temperature: 4, alpha: 0.9 },
  vrm: { weight: 1, uep: 'jointEntropy', uepRatio: 0.1 },
  stkd: { temperature: 4, kdWeight: 0.9 },
  icc: { temperature: 4, iccWeight: 1 },
  mtkd: { temperature: 4, weight: 1 },
  corsd: { weight: 1, tSquared: false },
  selfkd: { temperature: 4, weight: 1 },
};

function cross(axes: Record<string, Array<number | string | boolean>>): Config[] {
  let out: Config[] = [{}];
  for (const [k, vs] of Object.entries(axes)) {
    out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  return out;
}

/** Where the committed choice lives. */
export const TUNED_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'tuned.json');

/** What `tuned.json` holds. */
export interface TunedFile {
  generatedAt: string;
  /** How the choice was made (seeds, epochs, validation size, data set). */
  protocol: Record<string, unknown>;
  /** The chosen configuration of each family (tuned keys only; FIXED is merged in). */
  chosen: Partial<Record<Family, Config>>;
  /** Every configuration tried, with its validation accuracy (mean over seeds, %). */
  trials: Array<{ family: Family; config: Config; valAccuracy: number; seeds: number[] }>;
  seconds: number;
}

/** The full configuration of every family: FIXED + (tuned.json's choice, or UNTUNED). */
export function loadTuned(path = TUNED_PATH): {
  configs: Record<Family, Config>;
  file: TunedFile | undefined;
} {
  const file = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TunedFile) : undefined;
  const configs = {} as Record<Family, Config>;
  for (const f of Object.keys(FIXED) as Family[]) {
    configs[f] = { ...FIXED[f], ...(file?.chosen[f] ?? UNTUNED[f]) };
  }
  return { configs, file };
}
