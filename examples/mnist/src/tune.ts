/**
 * `npm run distill -- --tune`: the grid search behind tuned.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARMS, type Config, type Family, type Method } from './arms';
import type { Request } from './cliArgs';
import { formatJson } from './docOutput';
import { execute, teacherJobs } from './execute';
import type { Data } from './jobs';
import { consoleTable, fmtConfig } from './report';
import { mean } from './stats';
import { GRIDS, loadTuned, TUNED_PATH, type TunedFile } from './tuning';

/**
 * The families `--tune` tunes for `methods` (each method but CE, and the self-distillation
 * control with CORSD) and its runs: every grid point of each family, on top of the family's
 * configuration, for `seeds` seeds.
 */
export function tuneJobs(
  methods: readonly Method[],
  configs: Record<Family, Config>,
  seeds: number,
) {
  const families = [
    ...methods.filter((m) => m !== 'ce'),
    ...(methods.includes('corsd') ? (['selfkd'] as const) : []),
  ] as Exclude<Family, 'ce'>[];
  const jobs = families.flatMap((f) => {
    const arm = ARMS.find((a) => a.family === f && a.group !== 'ablation')!;
    return GRIDS[f].flatMap((g) =>
      Array.from({ length: seeds }, (_, s) => ({
        type: 'student' as const,
        arm: arm.id,
        config: { ...configs[f], ...g },
        s,
        evalTest: false,
      })),
    );
  });
  return { families, jobs };
}

/** `--tune`: runs each family's grid and writes the configuration chosen on validation accuracy. */
export async function tune(req: Request, data: Data): Promise<void> {
  const { p, methods } = req;
  const { configs } = loadTuned();
  const { families, jobs } = tuneJobs(methods, configs, p.seeds);
  const t0 = Date.now();
  console.log(`tuning ${families.join(', ')}: ${jobs.length} runs (${p.seeds} seeds each)`);
  const { runs } = await execute(p, data, teacherJobs(jobs), jobs);
  const trials: TunedFile['trials'] = [];
  const chosen: TunedFile['chosen'] = {};
  const rows: string[][] = [];
  for (const f of families) {
    const arm = ARMS.find((a) => a.family === f && a.group !== 'ablation')!;
    let best: { g: Config; v: number } | undefined;
    for (const g of GRIDS[f]) {
      const rs = runs.filter(
        (r) => r.arm === arm.id && fmtConfig(r.config) === fmtConfig({ ...configs[f], ...g }),
      );
      const v = mean(rs.map((r) => r.val));
      trials.push({ family: f, config: g, valAccuracy: v, seeds: rs.map((r) => r.seed) });
      if (best === undefined || v > best.v) best = { g, v };
      rows.push([f, fmtConfig(g), v.toFixed(2)]);
    }
    chosen[f] = best!.g;
    rows.push([f, `→ chosen: ${fmtConfig(best!.g)}`, best!.v.toFixed(2)]);
  }
  console.log(`\n${consoleTable(['Family', 'Configuration', 'Val acc. % (mean)'], rows)}`);
  const seconds = (Date.now() - t0) / 1000;
  const path =
    req.outGiven || p.dataDir !== undefined || p.mode !== 'default'
      ? join(p.out, 'tuned.json')
      : TUNED_PATH;
  const previous = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as TunedFile)
    : undefined;
  const file: TunedFile = {
    generatedAt: new Date().toISOString(),
    protocol: {
      data: data.dataset.name,
      dataHash: data.dataset.hash,
      arch: p.arch,
      seeds: p.seeds,
      epochs: p.epochs,
      trainSize: p.trainSize,
      valSize: p.valSize,
      selection: 'highest mean validation accuracy over the seeds (ties: first in grid order)',
    },
    chosen: { ...(previous?.chosen ?? {}), ...chosen },
    trials: [
      ...(previous?.trials ?? []).filter((t) => !families.includes(t.family as never)),
      ...trials,
    ],
    seconds,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  formatJson(path);
  console.log(`wrote ${path} (tuning took ${(seconds / 60).toFixed(1)} min)`);
}
