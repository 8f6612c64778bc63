/**
 * Runs the jobs of `npm run distill` in parallel worker processes (one per core by default:
 * tfjs-backend-wasm is single-threaded in Node, so two processes use two cores). Each worker is
 * this CLI started with `--worker`; it loads MNIST once and then takes jobs over IPC. Progress
 * bars of the workers are drawn as one block of lines on a terminal, plain lines otherwise.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from './arms';
import type { Protocol, RunResult } from './jobs';

/** A unit of work for a worker. */
export type Job =
  | { type: 'teacher'; kind: 'plain' | 'icc'; heads: boolean }
  | { type: 'student'; arm: string; config: Config; s: number; evalTest: boolean };

/** What a teacher job reports. */
export interface TeacherReport {
  kind: 'plain' | 'icc';
  testAccuracy: number;
  params: number;
  cached: boolean;
  trainSeconds: number;
  /** Off-diagonal share of the class correlation on the validation split, per τ. */
  offDiagonal: Record<string, number>;
  /** MTKD-SSR teacher stage heads' training accuracy (%), when fitted. */
  headAccuracy?: number[] | undefined;
}

/** Messages from a worker to the parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; text: string }
  | { type: 'teacher'; report: TeacherReport }
  | { type: 'student'; result: RunResult }
  | { type: 'error'; message: string; stack?: string };

/** Messages from the parent to a worker. */
export type ParentMessage =
  | { type: 'init'; protocol: Protocol; tty: boolean; columns: number }
  | { type: 'job'; job: Job }
  | { type: 'exit' };

const ESC = String.fromCharCode(27);

/** Drops a ProgressBar line's leading `\r` and clear-line sequence. */
function stripRedraw(line: string): string {
  const l = line.startsWith('\r') ? line.slice(1) : line;
  return l.startsWith(`${ESC}[2K`) ? l.slice(4) : l;
}

/** Draws the workers' live progress lines as a block under the finished lines. */
class ProgressBlock {
  private readonly live: string[];
  private drawn = 0;

  constructor(
    slots: number,
    private readonly tty: boolean,
  ) {
    this.live = new Array<string>(slots).fill('');
  }

  write(slot: number, text: string): void {
    // ProgressBar output: `\r\x1b[2K<line>` (live) or `<line>\n` / `\r\x1b[2K<line>\n` (final).
    const parts = text.split('\n');
    const finished = parts.slice(0, -1).map(stripRedraw);
    const rest = stripRedraw(parts[parts.length - 1] ?? '');
    if (!this.tty) {
      for (const l of finished) process.stderr.write(`${l}\n`);
      return;
    }
    this.live[slot] = rest;
    this.draw(finished);
  }

  private draw(finished: string[]): void {
    // Back to the top of the live block, finished lines (they scroll up), live lines, clear below.
    let out = this.drawn > 0 ? `\r\x1b[${this.drawn}A` : '\r';
    for (const l of finished) out += `\x1b[2K${l}\n`;
    const shown = this.live.filter((l) => l !== '');
    for (const l of shown) out += `\x1b[2K${l}\n`;
    this.drawn = shown.length;
    process.stderr.write(`${out}\x1b[J`);
  }

  clear(slot: number): void {
    if (!this.tty) return;
    this.live[slot] = '';
    this.draw([]);
  }
}

interface Slot {
  child: ChildProcess;
  /** Until the worker is ready, and while it runs a job. */
  busy: boolean;
  /** Index of the job it runs (`undefined` between jobs). */
  current?: number | undefined;
  /** When it was sent its current job (`Date.now()`). */
  since?: number;
  /** It was told to exit. */
  released?: boolean;
}

/**
 * The first job, in list order, that has not started and whose prerequisites (`after[i]`: indices
 * of jobs that must have finished) are all done; `undefined` when none is ready.
 */
export function nextReady(
  count: number,
  started: ReadonlySet<number>,
  done: ReadonlySet<number>,
  after: ReadonlyArray<readonly number[]> = [],
): number | undefined {
  for (let i = 0; i < count; i++) {
    if (started.has(i)) continue;
    if ((after[i] ?? []).every((d) => done.has(d))) return i;
  }
  return undefined;
}

/**
 * Runs `jobs` on `p.jobs` worker processes and resolves with the results in job order. Whenever a
 * worker is free it takes the first job of the list whose prerequisites have finished (`after[i]`:
 * the indices of the jobs that job `i` needs, e.g. a student run needs its teacher's job, which
 * writes the teacher to the cache), so list the jobs in the order they should start (longest
 * first); a worker with nothing ready waits for the next result. `onResult` sees each result as
 * soon as it arrives (e.g. to store it), with the job's wall time in its worker. Rejects on the
 * first failure (the other workers are stopped).
 */
export async function runInWorkers(
  p: Protocol,
  jobs: Job[],
  onResult?: (index: number, result: TeacherReport | RunResult, seconds: number) => void,
  after: ReadonlyArray<readonly number[]> = [],
): Promise<(TeacherReport | RunResult)[]> {
  for (const [i, deps] of after.entries()) {
    if (deps.some((d) => !Number.isInteger(d) || d < 0 || d >= jobs.length || d === i))
      throw new Error(`internal: job ${i} depends on a job that is not in the list.`);
  }
  if (jobs.length === 0) return [];
  const tty = process.stderr.isTTY === true;
  const block = new ProgressBlock(p.jobs, tty);
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const results = new Array<TeacherReport | RunResult | undefined>(jobs.length);
  const done = new Set<number>();
  const started = new Set<number>();
  const slots: Slot[] = [];
  return new Promise((resolvePromise, reject) => {
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const s of slots) s.child.kill();
      reject(e);
    };
    const release = (s: Slot) => {
      if (s.released || !s.child.connected) return;
      s.released = true;
      s.child.send({ type: 'exit' } satisfies ParentMessage);
    };
    const dispatch = () => {
      if (failed) return;
      if (done.size === jobs.length) {
        // Every worker is told to exit once; a worker that becomes ready later (all jobs went to
        // the others) is told when it reports ready, and one already gone is skipped (no EPIPE).
        for (const s of slots) release(s);
        resolvePromise(results as (TeacherReport | RunResult)[]);
        return;
      }
      for (const slot of slots) {
        if (slot.busy) continue;
        const next = nextReady(jobs.length, started, done, after);
        if (next === undefined) {
          // Nothing ready: the idle workers wait for a running job to finish; nothing running
          // means the prerequisites can never finish (a cycle).
          if (!slots.some((s) => s.busy && s.current !== undefined))
            fail(new Error('internal: no job can start (circular prerequisites).'));
          return;
        }
        started.add(next);
        slot.busy = true;
        slot.current = next;
        slot.since = Date.now();
        slot.child.send({ type: 'job', job: jobs[next] as Job } satisfies ParentMessage);
      }
    };
    for (let w = 0; w < Math.min(p.jobs, jobs.length); w++) {
      // Same Node flags as this process (tsx's loader), so the worker runs the TypeScript CLI too.
      const child = fork(cli, ['--worker'], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const slot: Slot = { child, busy: true };
      slots.push(slot);
      // A send to a worker that just exited is not fatal: its exit is handled below.
      child.on('error', (e) => {
        if (!slot.released) fail(e);
      });
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          slot.busy = false;
          dispatch();
        } else if (m.type === 'progress') {
          block.write(w, m.text);
        } else if (m.type === 'error') {
          const e = new Error(m.message);
          if (m.stack !== undefined) e.stack = m.stack;
          fail(e);
        } else {
          const i = slot.current as number;
          results[i] = m.type === 'teacher' ? m.report : m.result;
          done.add(i);
          onResult?.(i, results[i]!, (Date.now() - (slot.since ?? Date.now())) / 1000);
          slot.busy = false;
          slot.current = undefined;
          block.clear(w);
          dispatch();
        }
      });
      child.on('exit', (code, signal) => {
        if (!failed && done.size < jobs.length) {
          fail(
            new Error(
              `worker ${w + 1} stopped unexpectedly (${signal ?? `exit code ${code}`}); rerun with --jobs 1 to see the error in this process.`,
            ),
          );
        }
      });
      child.send({
        type: 'init',
        protocol: p,
        tty,
        columns: process.stderr.columns ?? 120,
      } satisfies ParentMessage);
    }
  });
}
