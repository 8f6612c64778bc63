import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const packagesDir = fileURLToPath(new URL('../../packages/', import.meta.url));
const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

// Cross-origin isolation lets tfjs-backend-wasm use threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here,
  // The page imports the relkd packages from source, so it runs without building them first.
  resolve: {
    alias: packages.map((name) => ({
      find: new RegExp(`^@relkd/${name}$`),
      replacement: `${packagesDir}${name}/src/index.ts`,
    })),
  },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 4000 },
});
