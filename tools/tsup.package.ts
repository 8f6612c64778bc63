import { defineConfig, type Options } from 'tsup';

/**
 * The build every relkd package shares: `src/index.ts` -> ESM (`dist/index.js`) + CJS
 * (`dist/index.cjs`) + declarations for both (`.d.ts`, `.d.cts`), ES2020, unminified, no source maps.
 * Dependencies and peers stay external. A package passes `overrides` for extra entries or bundling.
 */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    // No source maps: they would point at src/ (not published), and @relkd/backend's would embed
    // tfjs-core's sources (3.4 MB of its 4.5 MB). The output is unminified ES2020, readable as is.
    sourcemap: false,
    target: 'es2020',
    treeshake: true,
    ...overrides,
  });
}
