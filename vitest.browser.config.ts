import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { configDefaults, defineConfig } from 'vitest/config';

// Browser tests (Vitest browser mode, Playwright driving Debian's /usr/bin/chromium):
// `npm run test:browser`. Files: packages/<pkg>/browser/*.test.ts. CI installs chromium with apt-get.
const root = fileURLToPath(new URL('.', import.meta.url));
/** Chromium flags shared by both browser instances. */
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** `*.webgpu.test.ts` run only in the `chromium-webgpu` instance (WebGPU on SwiftShader). */
const WEBGPU_TESTS = 'packages/*/browser/**/*.webgpu.test.ts';

const packages = readdirSync(`${root}packages`, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

export default defineConfig({
  resolve: {
    alias: [
      ...packages.map((name) => ({
        find: new RegExp(`^@relkd/${name}$`),
        replacement: `${root}packages/${name}/src/index.ts`,
      })),
      // Subpath entries: `@relkd/core/internal` -> packages/core/src/internal.ts (one copy of core).
      ...packages.map((name) => ({
        find: new RegExp(`^@relkd/${name}/(?!package\\.json$)([\\w-]+)$`),
        replacement: `${root}packages/${name}/src/$1.ts`,
      })),
      { find: /^@relkd\/testing$/, replacement: `${root}tools/testing/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/browser/**/*.test.ts'],
    testTimeout: 60_000,
    fileParallelism: false,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.cache/vitest-browser-report.json' },
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        // --disable-gpu: no WebGPU adapter (packages/backend/browser/webgpu.test.ts tests that case).
        launchOptions: { executablePath, args: [...COMMON_ARGS, '--disable-gpu'] },
      }),
      instances: [
        { browser: 'chromium', exclude: [...configDefaults.exclude, WEBGPU_TESTS] },
        {
          // WebGPU in headless Chromium on SwiftShader: a software (fallback) adapter, which
          // useBackend takes only with allowSoftwareAdapter. Needs a secure context (Vitest serves
          // http://localhost) and no --disable-gpu.
          browser: 'chromium',
          name: 'chromium-webgpu',
          include: [WEBGPU_TESTS],
          provider: playwright({
            launchOptions: {
              executablePath,
              args: [...COMMON_ARGS, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
            },
          }),
        },
      ],
    },
  },
});
