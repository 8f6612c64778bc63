import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { swiftShaderEnv } from './tools/testing/swiftShader';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = readdirSync(`${root}packages`, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** `@relkd/<pkg>` (and its subpaths) resolve to the package's TypeScript source, so tests need no build. */
const alias = [
  ...packages.map((name) => ({
    find: new RegExp(`^@relkd/${name}$`),
    replacement: `${root}packages/${name}/src/index.ts`,
  })),
  // Subpath entries: `@relkd/layers/node` -> packages/layers/src/node.ts,
  // `@relkd/layers/recipes/vrm` -> packages/layers/src/recipes/vrm.ts.
  ...packages.map((name) => ({
    find: new RegExp(`^@relkd/${name}/(?!package\\.json$)([\\w-]+(?:/[\\w-]+)?)$`),
    replacement: `${root}packages/${name}/src/$1.ts`,
  })),
  { find: /^@relkd\/testing$/, replacement: `${root}tools/testing/index.ts` },
  // Without @relkd/backend, for @relkd/core's tests.
  { find: /^@relkd\/testing\/plain$/, replacement: `${root}tools/testing/plain.ts` },
];

/**
 * `*.webgpu.test.ts` files run only in the `webgpu` project: Dawn WebGPU in Node on SwiftShader's
 * Vulkan driver (a software adapter; `.ci/run` installs `chromium` and `libvulkan1` for it).
 */
const WEBGPU_TESTS = '**/*.webgpu.test.ts';

export default defineConfig({
  resolve: { alias },
  test: {
    // tfjs kernels are CPU-bound and the CI machine has 2 cores.
    maxWorkers: 2,
    // CI also writes a JSON report; .ci/run prints its "N passed, N failed" line at the end.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.cache/vitest-report.json' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: {
          name,
          include: [`packages/${name}/src/**/*.test.ts`, `packages/${name}/test/**/*.test.ts`],
          exclude: [...configDefaults.exclude, WEBGPU_TESTS],
        },
      })),
      {
        extends: true as const,
        test: {
          name: 'examples',
          include: ['examples/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, WEBGPU_TESTS],
        },
      },
      {
        extends: true as const,
        test: {
          name: 'tools',
          include: ['tools/**/*.test.ts'],
          // Fake package trees the architecture checker is proven on (their tests are data).
          exclude: [...configDefaults.exclude, WEBGPU_TESTS, 'tools/architecture/fixtures/**'],
        },
      },
      {
        extends: true as const,
        test: {
          name: 'webgpu',
          include: [`packages/*/src/${WEBGPU_TESTS}`, `examples/*/src/${WEBGPU_TESTS}`],
          // Dawn reads the Vulkan driver from the environment when it starts (in the worker).
          env: swiftShaderEnv(process.env),
          // SwiftShader compiles every new shader on the CPU: first calls take seconds.
          testTimeout: 300_000,
        },
      },
    ],
  },
});
