/**
 * The worker side of the CLI's IPC (`cli.ts --worker`, started by `runInWorkers` in pool.ts):
 * takes the protocol, then teacher and student jobs, and sends progress and results back.
 */
import { useBackend } from '@relkd/backend';
import type { ProgressStream } from '@relkd/layers';
import { armById } from './arms';
import { type Data, getTeacher, loadData, type Protocol, runStudent } from './jobs';
import type { Net } from './models';
import type { ParentMessage, TeacherReport, WorkerMessage } from './pool';

/** What the report says about a teacher (also what a worker sends back for a teacher job). */
export function teacherReport(t: Awaited<ReturnType<typeof getTeacher>>): TeacherReport {
  return {
    kind: t.kind,
    testAccuracy: t.testAccuracy,
    params: t.net.model.countParams(),
    cached: t.cached,
    trainSeconds: t.trainSeconds,
    offDiagonal: t.offDiagonal,
    headAccuracy: t.headAccuracy,
  };
}

/**
 * `--worker` (internal): a worker process of `runInWorkers` (pool.ts). Waits for the protocol, selects
 * the backend, loads the data once, then runs jobs until told to exit. Progress goes to the parent.
 */
export async function worker(): Promise<void> {
  // The parent may have told this worker to exit already (all jobs done): then there is no one to tell.
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send?.(m);
  };
  let p: Protocol | undefined;
  let data: Data | undefined;
  let stream: ProgressStream | undefined;
  const nets: { plain?: Net; icc?: Net } = {};
  process.on('message', (m: ParentMessage) => {
    void (async () => {
      try {
        if (m.type === 'exit') {
          process.disconnect?.();
          return;
        }
        if (m.type === 'init') {
          p = m.protocol;
          stream = {
            isTTY: m.tty,
            columns: m.columns,
            write: (text: string) => send({ type: 'progress', text }),
          };
          await useBackend(p.backend);
          data = loadData(p);
          send({ type: 'ready' });
          return;
        }
        if (p === undefined || data === undefined) throw new Error('worker: job before init');
        const job = m.job;
        if (job.type === 'teacher') {
          const t = await getTeacher(job.kind, p, data, {
            evaluate: true,
            heads: job.heads,
            stream,
          });
          nets[job.kind] = t.net;
          send({ type: 'teacher', report: teacherReport(t) });
        } else {
          const kind = armById(job.arm).teacher;
          if (kind !== undefined && nets[kind] === undefined) {
            nets[kind] = (await getTeacher(kind, p, data, { evaluate: false, reuse: true })).net;
          }
          send({ type: 'student', result: await runStudent(job, p, data, nets, stream) });
        }
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        send({ type: 'error', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
      }
    })();
  });
}
