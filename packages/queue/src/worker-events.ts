import type { ProgressEvent } from '@cbtm/core';
import type { Worker } from 'bullmq';

/**
 * Wires a BullMQ worker's events to the worker's summary (`completed`, `failed`), its
 * `onProgress` (one `queue` event per finished job) and its log.
 */
export function watchWorker(
  worker: Worker,
  summary: { completed: string[]; failed: string[] },
  log: (line: string) => void,
  onProgress?: (e: ProgressEvent) => void | Promise<void>,
): void {
  worker.on('completed', (job) => {
    summary.completed.push(String(job.id));
    void onProgress?.({
      stage: 'queue',
      status: 'progress',
      done: summary.completed.length,
      unit: 'jobs',
      message: `finished ${job.id}`,
    });
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    summary.failed.push(String(job.id));
    const more = job.opts.attempts !== undefined && job.attemptsMade < job.opts.attempts;
    log(
      `${job.id}: failed (attempt ${job.attemptsMade}${job.opts.attempts ? ` of ${job.opts.attempts}` : ''}): ${err.message}${more ? ' It will be retried.' : ''}`,
    );
  });
  worker.on('stalled', (jobId) =>
    log(
      `${jobId}: its worker stopped answering; the job is back in the queue and resumes from its checkpoint.`,
    ),
  );
  worker.on('error', (err) => log(`queue worker: ${err.message}`));
}
