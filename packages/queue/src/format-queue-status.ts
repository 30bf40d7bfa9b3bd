import type { QueueModelStatus } from './queue-status.js';

/**
 * The table `cbtm queue status` prints: per model its job state and the step it would resume
 * from (the last checkpoint), with the step its worker last reported when that is ahead.
 *
 * @example
 * ```ts
 * formatQueueStatus(status.models); // 'model     state   steps ...\nexpert-0  active  100/245 (worker reported 140) ...'
 * ```
 */
export function formatQueueStatus(models: readonly QueueModelStatus[]): string {
  const rows = models.map((m) => [
    m.name,
    m.state,
    `${m.step}/${m.totalSteps ?? '?'}${m.reportedStep !== undefined ? ` (worker reported ${m.reportedStep})` : ''}`,
    m.trained ? 'trained' : '',
    m.failedReason ? `failed ${m.attempts}×: ${m.failedReason}` : '',
  ]);
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((r) => r[i]!.length), ['model', 'state', 'checkpoint', ''][i]!.length),
  );
  const line = (r: string[]) =>
    `${r
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd()}\n`;
  return [line(['model', 'state', 'checkpoint', '', '']), ...rows.map(line)].join('');
}
