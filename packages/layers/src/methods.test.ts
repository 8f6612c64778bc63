import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RelkdError } from '@relkd/core';
import { describe, expect, it } from 'vitest';
import { crossGrid, methodNames, methodOf, methods, recipes } from './methods';
import * as corsdEntry from './recipes/corsd';
import * as iccEntry from './recipes/icc';
import * as kdEntry from './recipes/kd';
import * as mtkdEntry from './recipes/mtkd';
import * as stkdEntry from './recipes/stkd';
import * as vrmEntry from './recipes/vrm';

const pkgDir = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
  exports: Record<string, unknown>;
  files: string[];
};
/** The files under `src/recipes/` that are recipe subpaths (not tests, not the shared helpers). */
const recipeFiles = readdirSync(join(pkgDir, 'src', 'recipes'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'shared.ts')
  .map((f) => f.slice(0, -3))
  .sort();

/** The module specifiers of a source's `import` / `export … from` statements (not comments). */
function specifiers(src: string): string[] {
  const statements = /^(?:import|export)\b[^;]*?from '([^']+)';|^import '([^']+)';/gm;
  return [...src.matchAll(statements)].map((m) => (m[1] ?? m[2])!);
}

/** The relative modules reachable from `file` by static imports (`./x`, `../x`). */
function localImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const spec of specifiers(src).filter((s) => s.startsWith('.'))) {
    localImports(resolve(file, '..', `${spec}.ts`), seen);
  }
  return seen;
}

/** The bare package specifiers imported (at run time or as types) by `files`. */
function packagesImported(files: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    for (const spec of specifiers(readFileSync(f, 'utf8'))) {
      if (spec.startsWith('.')) continue;
      const parts = spec.split('/');
      out.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return out;
}

describe('the methods registry', () => {
  it('lists every recipe file once, by name, in report order', () => {
    expect([...methodNames]).toEqual(['kd', 'vrm', 'stkd', 'icc', 'mtkd', 'corsd']);
    expect([...methodNames].sort()).toEqual(recipeFiles);
    for (const name of methodNames) expect(methods[name].name).toBe(name);
    const labels = methodNames.map((n) => methods[n].label);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('holds the functions and defaults the recipe subpaths export', () => {
    expect(methods.kd.recipe).toBe(kdEntry.kd);
    expect(methods.kd.defaults).toBe(kdEntry.KD_RECIPE_DEFAULTS);
    expect(methods.vrm.recipe).toBe(vrmEntry.vrm);
    expect(methods.vrm.defaults).toBe(vrmEntry.VRM_RECIPE_DEFAULTS);
    expect(methods.stkd.recipe).toBe(stkdEntry.stkd);
    expect(methods.stkd.defaults).toBe(stkdEntry.STKD_RECIPE_DEFAULTS);
    expect(methods.icc.recipe).toBe(iccEntry.icc);
    expect(methods.icc.defaults).toBe(iccEntry.ICC_RECIPE_DEFAULTS);
    expect(methods.icc.teacherRecipe).toBe(iccEntry.iccTeacher);
    expect(methods.mtkd.recipe).toBe(mtkdEntry.mtkd);
    expect(methods.mtkd.defaults).toBe(mtkdEntry.MTKD_RECIPE_DEFAULTS);
    expect(methods.corsd.recipe).toBe(corsdEntry.corsd);
    expect(methods.corsd.defaults).toBe(corsdEntry.CORSD_RECIPE_DEFAULTS);
    expect(recipes).toEqual({
      kd: kdEntry.kd,
      vrm: vrmEntry.vrm,
      stkd: stkdEntry.stkd,
      icc: iccEntry.icc,
      iccTeacher: iccEntry.iccTeacher,
      mtkd: mtkdEntry.mtkd,
      corsd: corsdEntry.corsd,
    });
  });

  it('its defaults are the ones the recipes apply', () => {
    const kdParts = methods.kd.recipe();
    expect(kdParts.ceWeight).toBe(methods.kd.defaults.ceWeight);
    expect(kdParts.terms?.[0]?.weight).toBe(methods.kd.defaults.weight);
    const vrmParts = methods.vrm.recipe();
    expect(vrmParts.ceWeight).toBe(methods.vrm.defaults.ceWeight);
    expect(vrmParts.terms?.map((t) => [t.name, t.weight])).toEqual([
      ['vrm', methods.vrm.defaults.weight],
    ]);
    const stkdParts = methods.stkd.recipe({ numClasses: 3 });
    expect(stkdParts.terms?.[0]?.weight).toBe(methods.stkd.defaults.weight);
    const iccParts = methods.icc.recipe();
    expect(iccParts.terms?.[0]?.weight).toBe(methods.icc.defaults.weight);
  });

  it('says which methods need a teacher and which package each uses', () => {
    expect(methodNames.filter((n) => !methods[n].needsTeacher)).toEqual(['corsd']);
    for (const name of methodNames) {
      const files = localImports(join(pkgDir, 'src', 'recipes', `${name}.ts`));
      const used = [...packagesImported(files)].filter(
        (p) => p.startsWith('@relkd/') && p !== '@relkd/core',
      );
      // Each recipe imports its own method package (KD: none, it is in core) and no other.
      expect(used).toEqual(methods[name].package === '@relkd/core' ? [] : [methods[name].package]);
    }
  });

  it('tunings: grids of at most 6 points over keys that are not fixed; the first axis varies slowest', () => {
    expect(crossGrid({ a: [1, 2], b: [true, false] })).toEqual([
      { a: 1, b: true },
      { a: 1, b: false },
      { a: 2, b: true },
      { a: 2, b: false },
    ]);
    expect(crossGrid({})).toEqual([{}]);
    for (const name of methodNames) {
      const t = methods[name].tuning;
      expect(t, name).toBeDefined();
      expect(t!.grid.length, name).toBeGreaterThan(1);
      expect(t!.grid.length, name).toBeLessThanOrEqual(6);
      const tuned = new Set([
        ...t!.grid.flatMap((g) => Object.keys(g)),
        ...Object.keys(t!.untuned),
      ]);
      expect(
        Object.keys(t!.fixed).filter((k) => tuned.has(k)),
        name,
      ).toEqual([]);
      // The untuned configuration sets exactly the keys the grid tunes.
      expect(Object.keys(t!.untuned).sort(), name).toEqual([...tuned].sort());
    }
  });

  it('tunings make options their recipe accepts (KD: alpha splits the weight with CE)', () => {
    const kd = methods.kd.tuning!;
    expect(kd.options({ temperature: 2, alpha: 0.9 }, {} as never)).toEqual({
      temperature: 2,
      weight: 0.9,
      ceWeight: 1 - 0.9,
    });
    const ctx = { numClasses: 3 } as never;
    for (const name of ['kd', 'vrm', 'stkd', 'icc'] as const) {
      const t = methods[name].tuning!;
      for (const g of t.grid) {
        const options = t.options({ ...t.fixed, ...g }, ctx);
        expect(
          () => (methods[name].recipe as (o: unknown) => unknown)(options),
          name,
        ).not.toThrow();
      }
    }
    expect(() => methods.mtkd.tuning!.options(methods.mtkd.tuning!.untuned, ctx)).toThrow(
      RelkdError,
    );
  });

  it('methodOf returns an entry or throws INVALID_OPTION listing the methods', () => {
    expect(methodOf('vrm')).toBe(methods.vrm);
    expect(() => methodOf('vmr')).toThrow(RelkdError);
    expect(() => methodOf('toString')).toThrow(/the methods are kd, vrm, stkd, icc, mtkd, corsd/);
  });
});

describe('@relkd/layers package shape', () => {
  it('the main entry imports no method package', () => {
    const files = localImports(join(pkgDir, 'src', 'index.ts'));
    const imported = [...packagesImported(files)].filter((p) => p.startsWith('@relkd/'));
    expect(imported).toEqual(['@relkd/core']);
    // Nor Node built-ins or the Node file I/O: they are on the ./node subpath.
    expect([...packagesImported(files)].filter((p) => p.startsWith('node:'))).toEqual([]);
    const nodeDir = join(pkgDir, 'src', 'node');
    expect([...files].filter((f) => f.startsWith(nodeDir))).toEqual([]);
    expect(localImports(join(pkgDir, 'src', 'node.ts')).has(join(nodeDir, 'files.ts'))).toBe(true);
  });

  it('depends on core only; method packages are optional peers and dev dependencies', () => {
    const methodPackages = [
      ...new Set(methodNames.map((n) => methods[n].package).filter((p) => p !== '@relkd/core')),
    ].sort();
    expect(Object.keys(pkg.dependencies)).toEqual(['@relkd/core']);
    for (const p of methodPackages) {
      expect(pkg.peerDependencies[p], p).toBeDefined();
      expect(pkg.peerDependenciesMeta[p]?.optional, p).toBe(true);
      expect(pkg.devDependencies[p], p).toBeDefined();
    }
    expect(Object.keys(pkg.peerDependenciesMeta).sort()).toEqual(methodPackages);
  });

  it('exports every recipe file on its subpath, with a node10 stub', () => {
    const subpaths = Object.keys(pkg.exports)
      .filter((k) => k.startsWith('./recipes/'))
      .map((k) => k.slice('./recipes/'.length))
      .sort();
    expect(subpaths).toEqual(recipeFiles);
    expect(pkg.exports['./methods']).toBeDefined();
    for (const m of recipeFiles) {
      const stub = JSON.parse(
        readFileSync(join(pkgDir, 'recipes', m, 'package.json'), 'utf8'),
      ) as Record<string, string>;
      expect(stub.main).toBe(`../../dist/recipes/${m}.cjs`);
      expect(pkg.exports[`./recipes/${m}`]).toEqual({
        import: { types: `./dist/recipes/${m}.d.ts`, default: `./dist/recipes/${m}.js` },
        require: { types: `./dist/recipes/${m}.d.cts`, default: `./dist/recipes/${m}.cjs` },
      });
    }
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'node', 'methods', 'recipes']));
  });
});
