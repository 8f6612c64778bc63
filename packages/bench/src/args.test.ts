import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args';

const KNOWN = ['kd', 'vrm', 'stkd'];

describe('parseBenchArgs (strict node:util parseArgs)', () => {
  it.each([
    [
      'no flags',
      [],
      { quick: false, backends: ['cpu', 'wasm', 'gpu'], losses: KNOWN, sweepLosses: KNOWN },
    ],
    ['--quick', ['--quick'], { quick: true, backends: ['wasm'], losses: KNOWN }],
    ['--losses=a,b', ['--losses=kd,vrm'], { losses: ['kd', 'vrm'], sweepLosses: ['kd', 'vrm'] }],
    ['--losses a,b (space)', ['--losses', 'stkd'], { losses: ['stkd'] }],
    [
      '--sweep-losses within --losses',
      ['--losses=kd,vrm', '--sweep-losses=vrm,stkd'],
      { sweepLosses: ['vrm'] },
    ],
    ['--no-sweeps', ['--no-sweeps'], { sweepLosses: [] }],
    ['--no-overhead', ['--no-overhead'], { overhead: false }],
    ['streaming by default', ['--quick'], { streaming: true }],
    ['--no-streaming', ['--no-streaming'], { streaming: false }],
    [
      'backend lists',
      ['--backends=cpu', '--overhead-backends=cpu,wasm', '--sweep-backends=cpu'],
      { backends: ['cpu'], overheadBackends: ['cpu', 'wasm'], sweepBackends: ['cpu'] },
    ],
    ['--out and --render', ['--out=tmp/x', '--render'], { out: 'tmp/x', render: true }],
    [
      '--backend webgpu --allow-software-adapter',
      ['--quick', '--backend', 'webgpu', '--allow-software-adapter'],
      { backends: ['webgpu'], allowSoftwareAdapter: true },
    ],
    ['software adapters refused by default', ['--quick'], { allowSoftwareAdapter: false }],
    [
      'whole steps by default on wasm',
      [],
      { wholeSteps: true, wholeStepBackends: ['wasm'], wholeStepRounds: undefined },
    ],
    [
      'whole-step flags',
      ['--whole-step-backends=cpu,wasm', '--whole-step-rounds', '12'],
      { wholeStepBackends: ['cpu', 'wasm'], wholeStepRounds: 12 },
    ],
    ['--no-whole-steps', ['--no-whole-steps'], { wholeSteps: false }],
    [
      '--losses= (whole steps only)',
      ['--losses=', '--no-overhead'],
      { losses: [], sweepLosses: [] },
    ],
  ] as const)('%s', (_, argv, expected) => {
    expect(parseBenchArgs(argv, KNOWN)).toMatchObject(expected);
  });

  it.each([
    ['a misspelt flag', ['--loses=kd'], /Unknown option '--loses'/],
    ['a value given to a switch', ['--quick=yes'], /does not take an argument/],
    ['a missing value', ['--losses'], /argument missing/],
    ['a positional argument', ['kd'], /Unexpected argument 'kd'/],
    [
      'an unknown loss',
      ['--losses=kd,vmr'],
      /--losses: unknown loss 'vmr'; choose from kd, vrm, stkd/,
    ],
    ['an unknown sweep loss', ['--sweep-losses=kdd'], /--sweep-losses: unknown loss 'kdd'/],
    ['a bad round count', ['--whole-step-rounds=0'], /--whole-step-rounds: expected an integer/],
    ['a non-integer round count', ['--whole-step-rounds=2.5'], /--whole-step-rounds/],
  ] as const)('throws on %s', (_, argv, message) => {
    expect(() => parseBenchArgs(argv, KNOWN)).toThrow(message);
  });
});
