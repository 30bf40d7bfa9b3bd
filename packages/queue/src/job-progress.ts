import type { ProgressEvent } from '@cbtm/core';
import type { TrainingJobProgress } from './training-job.js';

interface TaskProgress {
  step: number;
  total: number | undefined;
  loss?: number;
  tps?: number;
}

/**
 * Sums a job's training events (one task per model) into the `{ step, totalSteps, loss }` its
 * BullMQ job reports, at most every `intervalMs` except on a task's start and end.
 *
 * @param update receives each report (`job.updateProgress`); its failures are ignored.
 */
export function jobProgressReporter(
  update: (progress: TrainingJobProgress) => Promise<unknown>,
  intervalMs = 500,
): { onProgress(e: ProgressEvent): void; report(force: boolean): void } {
  const perTask = new Map<string, TaskProgress>();
  let lastReport = 0;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastReport < intervalMs) return;
    lastReport = now;
    const all = [...perTask.values()];
    const progress: TrainingJobProgress = {
      step: all.reduce((n, t) => n + t.step, 0),
      totalSteps:
        all.length > 0 && all.every((t) => t.total !== undefined)
          ? all.reduce((n, t) => n + t.total!, 0)
          : null,
      ...(all.at(-1)?.loss !== undefined ? { loss: all.at(-1)!.loss! } : {}),
      ...(all.at(-1)?.tps !== undefined ? { tokensPerSecond: all.at(-1)!.tps! } : {}),
    };
    update(progress).catch(() => undefined);
  };
  const onProgress = (e: ProgressEvent) => {
    if (e.task === undefined) return;
    perTask.set(e.task, {
      step: e.done,
      total: e.total,
      ...(e.metrics?.loss !== undefined ? { loss: e.metrics.loss } : {}),
      ...(e.metrics?.tokensPerSecond !== undefined ? { tps: e.metrics.tokensPerSecond } : {}),
    });
    report(e.status !== 'progress');
  };
  return { onProgress, report };
}
