/** `true` in Node.js (and Node-compatible runtimes) outside a browser window. Internal. */
export function isNodeEnvironment(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; window?: unknown };
  return g.process?.versions?.node != null && g.window === undefined;
}

/** Something that loads a module by its specifier, like `import()`. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

/**
 * The default loader: a dynamic `import()` whose specifier is a variable, so bundlers (Vite,
 * webpack, esbuild) leave optional packages out of the bundle instead of failing to resolve them.
 * In Node it resolves like any import; in a browser it only works for URLs or import-mapped names.
 */
export const defaultImport: ModuleLoader = (specifier) =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

/**
 * The directory (with a trailing separator) holding the `.wasm` binaries of the installed
 * `@tensorflow/tfjs-backend-wasm`, resolved from this package's location. Node only; `undefined`
 * when it cannot be resolved.
 */
export async function locateWasmDirectory(from: string): Promise<string | undefined> {
  try {
    const nodeModule = (await defaultImport('node:module')) as {
      createRequire: (from: string) => { resolve: (id: string) => string };
    };
    const nodePath = (await defaultImport('node:path')) as {
      dirname: (p: string) => string;
      sep: string;
    };
    const require = nodeModule.createRequire(from);
    const pkgJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
    return `${nodePath.dirname(pkgJson)}${nodePath.sep}dist${nodePath.sep}`;
  } catch {
    return undefined;
  }
}
