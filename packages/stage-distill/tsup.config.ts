import { packageConfig } from '../../tools/tsup.package';

export default packageConfig();
