import { parseArgs } from 'node:util';

/** The command line of `npm run bench`, parsed (see cli.ts for what each flag does). */
export interface BenchArgs {
  quick: boolean;
  render: boolean;
  /** Output folder as given (`undefined`: the default for the mode). */
  out: string | undefined;
  backends: string[];
  /** `--allow-software-adapter`: let 'webgpu' run on a software adapter (SwiftShader). */
  allowSoftwareAdapter: boolean;
  losses: string[];
  sweepLosses: string[];
  overheadBackends: string[];
  sweepBackends: string[];
  overhead: boolean;
  /** Backends of the whole-step section (default: wasm). */
  wholeStepBackends: string[];
  /** `false` with `--no-whole-steps`. */
  wholeSteps: boolean;
  /** `--whole-step-rounds=N`: timed rounds (default 30; 3 with --quick). */
  wholeStepRounds: number | undefined;
  /** `--no-streaming` turns off the offline-teacher streaming-memory section. */
  streaming: boolean;
}

const list = (v: string | undefined): string[] | undefined =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * Parses the bench's flags with `node:util`'s `parseArgs` in strict mode, like the MNIST CLI:
 * an unknown flag, a value given to a switch, a missing value or a positional argument throws
 * (before, a typo such as `--loses=kd` was silently ignored). Loss names are checked against
 * `known` (the bench cases), so a misspelt loss throws too instead of being dropped.
 *
 * @example
 * ```ts
 * parseBenchArgs(['--quick', '--losses=kd,vrm'], ['kd', 'vrm', 'stkd']).losses; // ['kd', 'vrm']
 * ```
 */
export function parseBenchArgs(argv: readonly string[], known: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
      out: { type: 'string' },
      backends: { type: 'string' },
      backend: { type: 'string' },
      'allow-software-adapter': { type: 'boolean', default: false },
      losses: { type: 'string' },
      'sweep-losses': { type: 'string' },
      'no-sweeps': { type: 'boolean', default: false },
      'no-overhead': { type: 'boolean', default: false },
      'no-streaming': { type: 'boolean', default: false },
      'overhead-backends': { type: 'string' },
      'sweep-backends': { type: 'string' },
      'no-whole-steps': { type: 'boolean', default: false },
      'whole-step-backends': { type: 'string' },
      'whole-step-rounds': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const losses = list(values.losses) ?? [...known];
  for (const [flag, names] of [
    ['losses', losses],
    ['sweep-losses', list(values['sweep-losses']) ?? []],
  ] as const) {
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      throw new Error(
        `--${flag}: unknown loss ${unknown.map((n) => `'${n}'`).join(', ')}; choose from ${known.join(', ')}.`,
      );
    }
  }
  const quick = values.quick;
  const roundsText = values['whole-step-rounds'];
  const wholeStepRounds = roundsText === undefined ? undefined : Number(roundsText);
  if (
    wholeStepRounds !== undefined &&
    (!Number.isInteger(wholeStepRounds) || wholeStepRounds < 1 || wholeStepRounds > 10000)
  ) {
    throw new Error(`--whole-step-rounds: expected an integer 1..10000, got '${roundsText}'.`);
  }
  return {
    quick,
    render: values.render,
    out: values.out,
    backends:
      list(values.backends) ??
      (values.backend !== undefined ? [values.backend] : quick ? ['wasm'] : ['cpu', 'wasm', 'gpu']),
    allowSoftwareAdapter: values['allow-software-adapter'],
    losses,
    sweepLosses: values['no-sweeps']
      ? []
      : (list(values['sweep-losses']) ?? losses).filter((n) => losses.includes(n)),
    overheadBackends: list(values['overhead-backends']) ?? ['wasm'],
    sweepBackends: list(values['sweep-backends']) ?? ['wasm'],
    overhead: !values['no-overhead'],
    wholeStepBackends: list(values['whole-step-backends']) ?? ['wasm'],
    wholeSteps: !values['no-whole-steps'],
    wholeStepRounds,
    streaming: !values['no-streaming'],
  };
}
