import type { Queue as BullQueue, Worker } from 'bullmq';

/**
 * Polls `queue` every second and calls `stop` once no job is waiting, delayed or running
 * anywhere. Returns the timer; the queue closes with the worker.
 */
export function stopWhenEmpty(
  queue: BullQueue,
  worker: Worker,
  stop: () => Promise<void>,
  log: (line: string) => void,
): NodeJS.Timeout {
  const check = async () => {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
    if (Object.values(c).every((n) => n === 0)) await stop();
  };
  const poll = setInterval(
    () => void check().catch((err: Error) => log(`queue worker: ${err.message}`)),
    1000,
  );
  worker.once('closed', () => void queue.close());
  return poll;
}
