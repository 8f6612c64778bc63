import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { importSpecifiers, lineOf, scanSource } from './scanSource';

/**
 * The dependency rules of the house (see ARCHITECTURE.md), by stable id:
 * - `loss-package-imports`: a loss package's library code imports only `@tensorflow/tfjs-core`,
 *   `@relkd/core`, `@relkd/core/internal` and its own files (no Node built-ins, no backend, no
 *   tfjs-layers, no other package).
 * - `loss-package-dom`: a loss package's library code uses no DOM global (`document`, `window`, …).
 * - `loss-code-read-back`: a loss package's library code (and core's losses) reads no tensor back
 *   (`dataSync()`, `arraySync()`, `.data()`, `.array()`), except in the files allowed by name.
 * - `core-imports-backend`: @relkd/core's library code imports no backend package
 *   (`@relkd/backend`, `@tensorflow/tfjs-backend-*`, `@tensorflow/tfjs-node*`) nor tfjs-layers.
 * - `core-test-loop`: @relkd/core's tests import neither `@relkd/backend` nor `@relkd/testing`
 *   (which loads it): they use `@relkd/testing/plain`, so that no core -> testing -> backend -> core
 *   loop exists. Exempt: the Dawn WebGPU tests (`*.webgpu.test.ts`, the `webgpu` project), which
 *   can only reach WebGPU in Node through @relkd/backend.
 * - `plain-testing-imports-backend`: `tools/testing/plain.ts` reaches no `@relkd/backend` import.
 * - `layers-entry-imports-method`: `@relkd/layers`' main entry (src/index.ts and the files it
 *   reaches) imports no method package.
 */
export type RuleId =
  | 'loss-package-imports'
  | 'loss-package-dom'
  | 'loss-code-read-back'
  | 'core-imports-backend'
  | 'core-test-loop'
  | 'plain-testing-imports-backend'
  | 'layers-entry-imports-method';

/** Every rule id, for tests that check each one. */
export const RULE_IDS: readonly RuleId[] = [
  'loss-package-imports',
  'loss-package-dom',
  'loss-code-read-back',
  'core-imports-backend',
  'core-test-loop',
  'plain-testing-imports-backend',
  'layers-entry-imports-method',
];

/** One broken rule: where, and what. `file` is relative to the checked root, with `/`. */
export interface Violation {
  rule: RuleId;
  file: string;
  line: number;
  detail: string;
}

/** Options of {@link checkArchitecture}. */
export interface CheckOptions {
  /**
   * Files (relative to the root, with `/`) of loss code allowed to read tensors back, each with
   * the reason (a `validate: 'full'` check, a renderer, an index sampler documented to sync).
   */
  readBackAllowed?: Readonly<Record<string, string>>;
}

/** A workspace package: its name, directory and role. */
interface Pkg {
  name: string;
  dir: string;
  role: 'core' | 'backend' | 'layers' | 'loss' | 'data' | 'tooling';
}

/**
 * Packages that move data rather than compute losses: @relkd/teacher-outputs reads and writes
 * teacher-output shards (Node file I/O on its ./node subpath, `fetch`/`File` in the browser, a
 * Parquet reader), so the loss-package rules do not apply to it.
 */
const DATA_PACKAGES = new Set(['@relkd/teacher-outputs']);

const CORE = '@relkd/core';
const LOSS_ALLOWED = new Set(['@tensorflow/tfjs-core', CORE, `${CORE}/internal`]);
const BACKEND_PACKAGE =
  /^(@relkd\/backend(\/.*)?|@tensorflow\/tfjs-backend-[\w-]+(\/.*)?|@tensorflow\/tfjs-node(-gpu)?(\/.*)?|@tensorflow\/tfjs-layers(\/.*)?)$/;
const DOM_GLOBAL =
  /(?<![.\w$])(document|window|navigator|HTMLElement|HTMLCanvasElement|OffscreenCanvas|localStorage|sessionStorage|requestAnimationFrame)(?![\w$]|\s*:)/g;
const READ_BACK = /\.\s*(dataSync|arraySync|data|array)\s*\(/g;

/**
 * Checks the dependency rules over the workspace at `root` (`root/packages/<dir>/package.json`,
 * sources under `src/` and `test/`): returns the violations, empty when the house is in order.
 * The role of a package comes from its name: `@relkd/core`, `@relkd/backend`, `@relkd/layers`;
 * a private package (the bench) is tooling; every other package is a loss (method) package.
 */
export function checkArchitecture(root: string, options: CheckOptions = {}): Violation[] {
  const allowed = options.readBackAllowed ?? {};
  const pkgs = packagesOf(root);
  const lossNames = new Set(pkgs.filter((p) => p.role === 'loss').map((p) => p.name));
  const violations: Violation[] = [];
  const rel = (f: string): string => relative(root, f).split(sep).join('/');
  const add = (rule: RuleId, file: string, line: number, detail: string): void => {
    violations.push({ rule, file: rel(file), line, detail });
  };

  for (const pkg of pkgs) {
    for (const file of sourceFiles(pkg.dir)) {
      const src = readFileSync(file, 'utf8');
      const test = isTestCode(pkg.dir, file);
      const specs = importSpecifiers(src);
      if (pkg.role === 'loss' && !test) {
        for (const { specifier, line } of specs) {
          const inside = specifier.startsWith('.')
            ? resolve(dirname(file), specifier).startsWith(join(pkg.dir, 'src'))
            : LOSS_ALLOWED.has(specifier);
          if (!inside)
            add('loss-package-imports', file, line, `${pkg.name} imports '${specifier}'`);
        }
        const { code } = scanSource(src);
        for (const m of code.matchAll(DOM_GLOBAL))
          add(
            'loss-package-dom',
            file,
            lineOf(src, m.index),
            `${pkg.name} uses the DOM global ${m[1]}`,
          );
      }
      const lossCode =
        !test &&
        (pkg.role === 'loss' || (pkg.role === 'core' && rel(file).includes('/src/losses/')));
      if (lossCode && allowed[rel(file)] === undefined) {
        const { code } = scanSource(src);
        for (const m of code.matchAll(READ_BACK))
          add(
            'loss-code-read-back',
            file,
            lineOf(src, m.index),
            `reads a tensor back with ${m[1]}()`,
          );
      }
      if (pkg.role === 'core') {
        for (const { specifier, line } of specs) {
          if (!test && BACKEND_PACKAGE.test(specifier))
            add('core-imports-backend', file, line, `@relkd/core imports '${specifier}'`);
          // Dawn WebGPU tests (*.webgpu.test.ts) need @relkd/backend's Dawn route by nature.
          if (
            test &&
            !file.endsWith('.webgpu.test.ts') &&
            /^@relkd\/(backend(\/.*)?|testing)$/.test(specifier)
          )
            add(
              'core-test-loop',
              file,
              line,
              `a core test imports '${specifier}' (use @relkd/testing/plain)`,
            );
        }
      }
    }
    if (pkg.role === 'layers') {
      const entry = join(pkg.dir, 'src', 'index.ts');
      for (const { file, specifier, line } of reachableImports(entry)) {
        const bare = specifier.split('/').slice(0, 2).join('/');
        if (lossNames.has(bare))
          add('layers-entry-imports-method', file, line, `the main entry reaches '${specifier}'`);
      }
    }
  }

  const plain = join(root, 'tools', 'testing', 'plain.ts');
  if (existsSync(plain)) {
    for (const { file, specifier, line } of reachableImports(plain)) {
      if (
        /^@relkd\/(backend|testing)(\/.*)?$/.test(specifier) &&
        specifier !== '@relkd/testing/plain'
      )
        add('plain-testing-imports-backend', file, line, `reaches '${specifier}'`);
    }
  }
  return violations;
}

/** The workspace packages under `root/packages`, with their roles. */
function packagesOf(root: string): Pkg[] {
  const base = join(root, 'packages');
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'package.json')))
    .map((d) => {
      const dir = join(base, d.name);
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
      };
      const role: Pkg['role'] =
        json.name === CORE
          ? 'core'
          : json.name === '@relkd/backend'
            ? 'backend'
            : json.name === '@relkd/layers'
              ? 'layers'
              : DATA_PACKAGES.has(json.name)
                ? 'data'
                : json.private === true
                  ? 'tooling'
                  : 'loss';
      return { name: json.name, dir, role };
    });
}

/** `.ts`/`.tsx`/`.mts` files under `dir/src` and `dir/test`. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
      } else if (/\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(join(dir, 'src'));
  walk(join(dir, 'test'));
  return files.sort();
}

/** Test code: `*.test.ts`, `testUtils.ts`, or anything under the package's `test/`. */
function isTestCode(pkgDir: string, file: string): boolean {
  return (
    /\.test\.(ts|tsx|mts)$/.test(file) ||
    /(^|[/\\])testUtils\.ts$/.test(file) ||
    file.startsWith(join(pkgDir, 'test') + sep)
  );
}

/** The bare imports of `entry` and of every file it reaches through relative imports. */
function reachableImports(entry: string): { file: string; specifier: string; line: number }[] {
  const seen = new Set<string>();
  const found: { file: string; specifier: string; line: number }[] = [];
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const { specifier, line } of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = resolveRelative(resolve(dirname(file), specifier));
        if (target !== undefined) visit(target);
      } else found.push({ file, specifier, line });
    }
  };
  visit(entry);
  return found;
}

/** A relative import's file: `x.ts`, `x.tsx`, `x/index.ts` (or `x` itself), if it exists. */
function resolveRelative(base: string): string | undefined {
  const candidates = [
    `${base}.ts`,
    `${base}.tsx`,
    join(base, 'index.ts'),
    base.replace(/\.js$/, '.ts'),
    base,
  ];
  return candidates.find((f) => existsSync(f) && statSync(f).isFile());
}
