// The dependency rule of the house, enforced over the repository, and the checker proven on a
// fake package tree that breaks every rule (fixtures/broken).

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkArchitecture, RULE_IDS, type RuleId, type Violation } from './checkArchitecture';
import { importSpecifiers } from './scanSource';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const broken = fileURLToPath(new URL('./fixtures/broken', import.meta.url));

/**
 * Loss code that may read tensors back, and why. Everything else in a loss package (and core's
 * losses) must not: a read-back stalls the GPU pipeline on every call.
 */
const READ_BACK_ALLOWED: Record<string, string> = {
  'packages/class-correlation/src/correlationHeatmapSvg.ts':
    'renders a matrix to an SVG string (a report, not a loss)',
  'packages/mixup-similarity/src/internal/mixArgs.ts':
    "checks lambda and permutation values in validate: 'full' only (documented debug mode)",
  'packages/relation-network/src/tripletIndices.ts':
    'builds triplet indices on the host from tensor labels (documented; JS arrays avoid it)',
  'packages/stage-distill/src/fitStageHeads.ts':
    'an offline fitting helper that reports accuracy and loss once at the end (async data())',
};

/**
 * Rules the code does not satisfy yet because another change will make them true: each runs as an
 * `it.fails` (which fails once the rule holds, as a reminder to take it off this list). Empty:
 * `layers-entry-imports-method` holds since the layers split (issue 17, part A1) was merged.
 */
const PENDING_RULES: readonly RuleId[] = [];

const show = (vs: Violation[]): string[] =>
  vs.map((v) => `${v.rule} ${v.file}:${v.line} ${v.detail}`);

describe('the repository keeps the dependency rule', () => {
  const violations = checkArchitecture(repo, { readBackAllowed: READ_BACK_ALLOWED });

  it.each(RULE_IDS.filter((r) => !PENDING_RULES.includes(r)))('%s: no violation', (rule) => {
    expect(show(violations.filter((v) => v.rule === rule))).toEqual([]);
  });

  if (PENDING_RULES.length > 0) {
    it.fails.each(PENDING_RULES)('%s: no violation (pending, see PENDING_RULES)', (rule) => {
      expect(show(violations.filter((v) => v.rule === rule))).toEqual([]);
    });
  }

  it('every allowed read-back file exists and still reads back (no stale exception)', () => {
    const unchecked = checkArchitecture(repo).filter((v) => v.rule === 'loss-code-read-back');
    expect([...new Set(unchecked.map((v) => v.file))].sort()).toEqual(
      Object.keys(READ_BACK_ALLOWED).sort(),
    );
  });
});

describe('the checker fails on each forbidden import (fixtures/broken)', () => {
  const found = show(checkArchitecture(broken));

  it.each([
    [
      'core-imports-backend',
      "packages/core/src/index.ts:3 @relkd/core imports '@tensorflow/tfjs-backend-wasm'",
    ],
    [
      'core-test-loop',
      "packages/core/src/loss.test.ts:2 a core test imports '@relkd/testing' (use @relkd/testing/plain)",
    ],
    [
      'loss-code-read-back',
      'packages/core/src/losses/softLoss.ts:5 reads a tensor back with dataSync()',
    ],
    [
      'loss-package-imports',
      "packages/fake-method/src/index.ts:2 @relkd/fake-method imports 'node:fs'",
    ],
    [
      'loss-package-imports',
      "packages/fake-method/src/index.ts:5 @relkd/fake-method imports '@tensorflow/tfjs-layers'",
    ],
    [
      'loss-package-imports',
      "packages/fake-method/src/index.ts:6 @relkd/fake-method imports '../../core/src/index'",
    ],
    [
      'loss-package-imports',
      "packages/fake-method/src/index.ts:13 @relkd/fake-method imports '@tensorflow/tfjs-backend-cpu'",
    ],
    [
      'loss-package-dom',
      'packages/fake-method/src/index.ts:11 @relkd/fake-method uses the DOM global document',
    ],
    [
      'loss-code-read-back',
      'packages/fake-method/src/index.ts:12 reads a tensor back with arraySync()',
    ],
    [
      'layers-entry-imports-method',
      "packages/layers/src/recipes/fake.ts:2 the main entry reaches '@relkd/fake-method'",
    ],
    ['plain-testing-imports-backend', "tools/testing/backends.ts:2 reaches '@relkd/backend'"],
  ])('%s: %s', (rule, where) => {
    expect(found).toContain(`${rule} ${where}`);
  });

  it('finds nothing else: allowed imports, tests, tooling, the backend, comments and strings pass', () => {
    expect(found).toHaveLength(11);
  });

  it('covers every rule', () => {
    expect(new Set(found.map((f) => f.split(' ')[0]))).toEqual(new Set(RULE_IDS));
  });

  it('an allowed read-back file is exempt', () => {
    const allowed = checkArchitecture(broken, {
      readBackAllowed: { 'packages/core/src/losses/softLoss.ts': 'fixture' },
    });
    expect(show(allowed)).not.toContain(
      'loss-code-read-back packages/core/src/losses/softLoss.ts:5 reads a tensor back with dataSync()',
    );
    expect(allowed).toHaveLength(10);
  });
});

describe('importSpecifiers', () => {
  it.each([
    ["import { a } from 'x';", ['x']],
    ["import type { A } from 'x';\nexport * from './y';", ['x', './y']],
    ["import 'side-effect';\nconst m = await import('lazy');", ['side-effect', 'lazy']],
    ["const r = require('cjs');", ['cjs']],
    ["// import { a } from 'commented';\n/* from 'block' */", []],
    ['const msg = "call it from \'@relkd/backend\'";', []],
    ["const re = /from 'x'/; const t = `import '$" + "{a}'`;", []],
    ["export { a, b as c } from 'x';", ['x']],
  ] as const)('%s', (src, expected) => {
    expect(importSpecifiers(src).map((s) => s.specifier)).toEqual(expected);
  });
});
