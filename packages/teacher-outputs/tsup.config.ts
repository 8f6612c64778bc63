import { packageConfig } from '../../tools/tsup.package';

export default packageConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
});
