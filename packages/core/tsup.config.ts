import { packageConfig } from '../../tools/tsup.package';

export default packageConfig({
  entry: { index: 'src/index.ts', internal: 'src/internal.ts' },
  // Both entries share one chunk in CJS too (ESM splits by default): one RelkdError class, so
  // `instanceof` holds for errors thrown through either entry.
  splitting: true,
});
