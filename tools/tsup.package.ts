import { defineConfig, type Options } from 'tsup';

/**
 * The build every relkd package shares: `src/index.ts` -> ESM (`dist/index.js`) + CJS
 * (`dist/index.cjs`) + declarations for both (`.d.ts`, `.d.cts`), with source maps, ES2020.
 * Dependencies and peers stay external. A package passes `overrides` for extra entries or bundling.
 */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2020',
    treeshake: true,
    ...overrides,
  });
}
