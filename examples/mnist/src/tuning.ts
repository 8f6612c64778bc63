/**
 * `--tune`: a small fixed grid per method (its main weight(s) and temperature, at most 6
 * configurations each, the same budget for every family including KD), chosen by validation
 * accuracy (mean over 2 seeds). The choice is committed in `tuned.json` and read by the default
 * and `--full` runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossGrid, type MethodTuning } from '@relkd/layers/methods';
import { type Config, type Family, TUNED_METHODS, tuningOf } from './arms';

/**
 * The self-distillation control's tuning (CORSD's yardstick; not a registered method): the grid
 * crosses `temperature` 2, 4, 8 with `weight` 0.5, 1.
 */
const SELFKD = {
  fixed: {},
  grid: crossGrid({ temperature: [2, 4, 8], weight: [0.5, 1] }),
  untuned: { temperature: 4, weight: 1 },
};

/** One table per family: CE's (empty), each method's from its registry tuning, self-KD's. */
function byFamily(pick: (t: Pick<MethodTuning<unknown>, 'fixed' | 'untuned'>) => Config) {
  return {
    ce: {},
    ...Object.fromEntries(TUNED_METHODS.map((m) => [m, pick(tuningOf(m))])),
    selfkd: pick(SELFKD),
  } as Record<Family, Config>;
}

/** Settings every configuration of a family shares (not tuned): the registry's `tuning.fixed`. */
export const FIXED: Record<Family, Config> = byFamily((t) => t.fixed);

/** The grid of each tuned family (≤ 6 configurations): the registry's `tuning.grid`. */
export const GRIDS = {
  ...Object.fromEntries(TUNED_METHODS.map((m) => [m, [...tuningOf(m).grid]])),
  selfkd: SELFKD.grid,
} as Record<Exclude<Family, 'ce'>, Config[]>;

/** The configurations used before any tuning: the registry's `tuning.untuned`. */
export const UNTUNED: Record<Family, Config> = byFamily((t) => t.untuned);

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
