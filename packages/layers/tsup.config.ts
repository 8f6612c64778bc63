import { readdirSync } from 'node:fs';
import type { Plugin } from 'esbuild';
import { packageConfig } from '../../tools/tsup.package';

/**
 * The recipe subpaths: `@relkd/layers/recipes/<method>` is built from `src/recipes/<method>.ts`
 * (every file there but tests and the internal `shared.ts`).
 */
const recipes = readdirSync(new URL('./src/recipes', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'shared.ts')
  .map((f) => f.slice(0, -'.ts'.length));

/**
 * The ESM build shares code between entries through chunks; CommonJS has no chunks, so this
 * plugin makes the CJS entries `require` each other instead of each bundling a copy:
 * `methods.cjs` requires `./recipes/<m>.cjs`, and a recipe requires `../index.cjs` for `tap`,
 * `stageShapes` and `isOfflineTeacher` (all exported there). One copy of each module, also one function identity.
 */
const cjsEntriesShareCode: Plugin = {
  name: 'relkd-cjs-entries-share-code',
  setup(build) {
    // tsup runs esbuild in ESM format for both builds and converts the CJS one afterwards:
    // the CJS build is the one writing `.cjs` files.
    if (build.initialOptions.outExtension?.['.js'] !== '.cjs') return;
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const from = args.importer.replaceAll('\\', '/');
      const recipe = /^\.\/recipes\/(\w+)$/.exec(args.path);
      if (from.endsWith('/src/methods.ts') && recipe !== null && recipes.includes(recipe[1]!)) {
        return { path: `./recipes/${recipe[1]}.cjs`, external: true };
      }
      if (
        from.includes('/src/recipes/') &&
        /^\.\.\/(tap|stageShapes|offlineTeacher)$/.test(args.path)
      ) {
        return { path: '../index.cjs', external: true };
      }
      return undefined;
    });
  },
};

export default packageConfig({
  // `./node` registers the file:// IO routers when imported (a side effect, see package.json).
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    methods: 'src/methods.ts',
    ...Object.fromEntries(recipes.map((m) => [`recipes/${m}`, `src/recipes/${m}.ts`])),
  },
  esbuildPlugins: [cjsEntriesShareCode],
});
