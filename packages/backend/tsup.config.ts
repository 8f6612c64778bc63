import { packageConfig } from '../../tools/tsup.package';

export default packageConfig({
  entry: { index: 'src/index.ts', gradients: 'src/gradients.ts' },
  // tfjs-core ships its gradient definitions only as extensionless ESM files under dist/, which
  // plain Node can neither import (ESM) nor require; bundle them (and the tfjs-core internals they
  // import relatively). The bundled copy keeps no state of its own: tfjs-core keeps the engine,
  // the kernel/gradient registries and the Tensor class on a global, and Tensor checks instances
  // with Symbol.hasInstance. '@tensorflow/tfjs-core' itself stays external.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
