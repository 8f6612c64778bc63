import { describe, expect, it } from 'vitest';
import { longestFirst, RUN_COST } from './execute';
import { nextReady } from './pool';

describe('the worker pool order', () => {
  it('nextReady: the first job not started whose prerequisites are done', () => {
    // Jobs 0-1: teachers; 2, 4 need teacher 0; 3 needs nothing; 5 needs teacher 1.
    const after = [[], [], [0], [], [0], [1]];
    const started = new Set<number>();
    const done = new Set<number>();
    const take = () => {
      const i = nextReady(6, started, done, after);
      if (i !== undefined) started.add(i);
      return i;
    };
    expect([take(), take()]).toEqual([0, 1]);
    // Both teachers running: only the run without a teacher can start.
    expect(take()).toBe(3);
    expect(take()).toBeUndefined();
    done.add(1);
    expect(take()).toBe(5);
    expect(take()).toBeUndefined();
    done.add(0);
    expect([take(), take(), take()]).toEqual([2, 4, undefined]);
    // No prerequisites: list order.
    expect(nextReady(3, new Set([0]), new Set())).toBe(1);
  });

  it('longestFirst: the costliest arms first, ties (seeds, unlisted arms) in list order', () => {
    const jobs = ['ce', 'ce', 'kd', 'mtkd', 'vrm', 'corsd', 'mtkd', 'selfkd', 'ce+mixup'].map(
      (arm) => ({ arm }),
    );
    const order = longestFirst(jobs).map((i) => jobs[i]!.arm);
    expect(order).toEqual(['mtkd', 'mtkd', 'corsd', 'vrm', 'selfkd', 'ce', 'ce', 'kd', 'ce+mixup']);
    // An ablation arm costs what its family costs.
    expect(longestFirst([{ arm: 'ce' }, { arm: 'icc-mimic' }])).toEqual(
      (RUN_COST.icc ?? 1) > 1 ? [1, 0] : [0, 1],
    );
  });
});
