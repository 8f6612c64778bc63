import { activate } from './activate';
import { importBackend } from './load';
import type { Route } from './route';

/** `@tensorflow/tfjs-backend-cpu`: plain JavaScript kernels, always available. */
export const cpuRoute: Route = {
  id: 'cpu',
  async attempt({ node, options }) {
    await importBackend('cpu', 'cpu', options, node);
    await activate('cpu', 'cpu', options);
    return { name: 'cpu', device: 'cpu', float32: true, gradients: true };
  },
};
