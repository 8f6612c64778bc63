import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

describe('@relkd/layers/node when tfjs-node registered its file:// routers first', () => {
  it('registers nothing: tfjs-node keeps the only file:// handlers', async () => {
    // What importing @tensorflow/tfjs-node does: a router answering file:// URLs (a stand-in here,
    // tfjs-node cannot be installed where libtensorflow cannot be downloaded).
    const theirs: tf.io.IOHandler = { load: async () => ({}), save: async () => ({}) as never };
    const router = (url: string | string[]) =>
      typeof url === 'string' && url.startsWith('file://') ? theirs : null;
    tf.io.registerLoadRouter(router as never);
    tf.io.registerSaveRouter(router as never);
    const { registerFileRouters } = await import('./node');
    expect(registerFileRouters()).toBe(false);
    expect(tf.io.getLoadHandlers('file:///a/model.json')).toEqual([theirs]);
    expect(tf.io.getSaveHandlers('file:///a')).toEqual([theirs]);
  });
});
