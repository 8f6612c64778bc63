import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

// Browser tests (Vitest browser mode, Playwright driving Debian's /usr/bin/chromium):
// `npm run test:browser`. Files: packages/<pkg>/browser/*.test.ts. CI installs chromium with apt-get.
const root = fileURLToPath(new URL('.', import.meta.url));
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
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
            '--use-angle=swiftshader',
            '--enable-unsafe-swiftshader',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
