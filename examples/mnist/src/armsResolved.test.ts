import { useBackend } from '@relkd/backend';
import type { DistillerParts } from '@relkd/layers';
import { beforeAll, describe, expect, it, vi } from 'vitest';

/** Every recipe call the arms make: the method and the options it was called with. */
const calls: Array<{ method: string; options: unknown }> = [];

// The registry's recipes record their options instead of building parts: what an arm hands its
// recipe is what decides a run, so the snapshot below pins it without training anything.
vi.mock('@relkd/layers/methods', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@relkd/layers/methods')>();
  const record =
    (method: string) =>
    (options: unknown): DistillerParts => {
      calls.push({ method, options });
      return { ceWeight: -1 };
    };
  const methods = Object.fromEntries(
    Object.entries(actual.methods).map(([name, e]) => [name, { ...e, recipe: record(name) }]),
  );
  return { ...actual, methods };
});

const { ARMS, configFor, controlsFor, ablationsOf, METHODS } = await import('./arms');
const { teacherJobs } = await import('./execute');
const { buildStudent, buildTeacher } = await import('./models');
const { tuneJobs } = await import('./tune');
const { FIXED, GRIDS, loadTuned, TUNED_PATH, UNTUNED } = await import('./tuning');

type Net = ReturnType<typeof buildStudent>;

/**
 * Plain data of `value`: the context's own objects by name (models, stage lists and weights are
 * rebuilt per test, so their identity is what matters), functions and class instances by kind,
 * plain objects with their keys in order (a configuration's key order reaches the run cache).
 */
function describeValue(value: unknown, known: Map<unknown, string>): unknown {
  const name = known.get(value);
  if (name !== undefined) return `<${name}>`;
  if (typeof value === 'function') return '<function>';
  if (Array.isArray(value)) return value.map((v) => describeValue(v, known));
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `<${value.constructor.name}>`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describeValue(v, known)]));
  }
  return value;
}

/** Every arm as the CLI resolves it for one tuned.json (or none): metadata, configuration, parts. */
function resolveArms(tunedPath: string, student: Net, teacher: Net) {
  const { configs } = loadTuned(tunedPath);
  const heads = { specs: [], data: new ArrayBuffer(8) };
  const known = new Map<unknown, string>([
    [student.model, 'student.model'],
    [student.stages, 'student.stages'],
    [teacher.model, 'teacher.model'],
    [teacher.stages, 'teacher.stages'],
    [heads, 'teacherHeadWeights'],
  ]);
  const arms = ARMS.map((arm) => {
    const config = configFor(arm, configs);
    calls.length = 0;
    const parts = arm.build({
      student,
      teacher: arm.teacher === undefined ? undefined : teacher,
      numClasses: 10,
      config,
      seed: 1017,
      teacherHeadWeights: heads,
    });
    const terms = (parts.terms ?? []).map((t) => ({ name: t.name, weight: t.weight }));
    for (const m of (parts.modules ?? []) as Array<{ dispose?: () => void }>) m.dispose?.();
    return {
      id: arm.id,
      label: arm.label,
      group: arm.group,
      family: arm.family,
      teacher: arm.teacher ?? null,
      note: arm.note ?? null,
      overrides: arm.overrides ?? null,
      config,
      recipeCalls: describeValue(calls, known),
      parts: describeValue({ ...parts, terms }, known),
    };
  });
  const methodArms = ARMS.filter((a) => a.group === 'method');
  return {
    configs,
    arms,
    tuneJobs: tuneJobs(METHODS, configs, 2),
    teacherJobs: teacherJobs(methodArms.map((a) => ({ arm: a.id, config: configFor(a, configs) }))),
  };
}

describe('the MNIST arms as the CLI resolves them', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('give the same methods, grids, configurations, recipe options and runs as the snapshot', async () => {
    const shape = { height: 28, width: 28, numClasses: 10 };
    const student = buildStudent(1017, '3stage', shape);
    const teacher = buildTeacher(100, 'snap', '3stage', shape);
    const resolved = {
      methods: METHODS,
      controls: controlsFor(METHODS).map((a) => a.id),
      ablations: Object.fromEntries(METHODS.map((m) => [m, ablationsOf(m).map((a) => a.id)])),
      fixed: FIXED,
      grids: GRIDS,
      untuned: UNTUNED,
      tuned: resolveArms(TUNED_PATH, student, teacher),
      untunedRuns: resolveArms('/nonexistent/tuned.json', student, teacher),
    };
    student.model.dispose();
    teacher.model.dispose();
    await expect(`${JSON.stringify(resolved, null, 1)}\n`).toMatchFileSnapshot(
      './__snapshots__/armsResolved.json',
    );
  });
});
