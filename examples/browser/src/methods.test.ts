/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { methodNames } from '@relkd/layers/methods';
import { describe, expect, it } from 'vitest';

describe('the browser page', () => {
  it('offers the CE baseline and registered methods only, by their registry names', () => {
    const html = readFileSync(new URL('../index.html', import.meta.url), 'utf8');
    const select = /<select id="method">([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    const offered = [...select.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]!);
    expect(offered[0]).toBe('ce');
    expect(offered.length).toBeGreaterThan(1);
    for (const name of offered.slice(1)) expect(methodNames).toContain(name);
  });
});
