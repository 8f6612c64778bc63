import { packageConfig } from '../../tools/tsup.package';

export default packageConfig({
  // `./node` registers the file:// IO routers when imported (a side effect, see package.json).
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
});
