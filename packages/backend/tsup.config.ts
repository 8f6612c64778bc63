import { packageConfig } from '../../tools/tsup.package';
import { tfjsCorePublic } from './tsup.tfjs-core';

export default packageConfig({
  entry: { index: 'src/index.ts', gradients: 'src/gradients.ts' },
  // tfjs-core ships its gradient definitions only as extensionless ESM files under dist/, which
  // plain Node can neither import (ESM) nor require; bundle them. What they import from tfjs-core
  // comes from the public '@tensorflow/tfjs-core' entry (external) wherever it is public there
  // (tsup.tfjs-core.ts); the few private helpers left are bundled and keep no state of their own:
  // tfjs-core keeps the engine, the kernel/gradient registries and the Tensor class on a global,
  // and Tensor checks instances with Symbol.hasInstance.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  esbuildPlugins: [tfjsCorePublic()],
  // Both entries use that bundle: share it in one chunk in CJS too (ESM splits by default), so the
  // CJS build does not carry it twice.
  splitting: true,
});
