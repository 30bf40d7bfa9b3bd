import { describe, expect, it } from 'vitest';
import { formatQueueStatus } from './format-queue-status.js';
import { type QueueModelStatus, statusStep } from './queue-status.js';

describe('queue status', () => {
  it('shows the step a model resumes from, not a dead worker’s last step', () => {
    // The worker reported step 140, then died; its last checkpoint is step 100.
    expect(statusStep({ step: 100 }, { step: 140, totalSteps: 245 })).toEqual({
      step: 100,
      reportedStep: 140,
    });
    expect(statusStep({ step: 100 }, undefined)).toEqual({ step: 100 });
    expect(statusStep({ step: 100 }, { step: 100 })).toEqual({ step: 100 });
  });

  it('prints the checkpoint step, with the worker’s report beside it', () => {
    const models: QueueModelStatus[] = [
      {
        name: 'expert-0',
        jobId: 'r/expert-0',
        state: 'active',
        step: 100,
        reportedStep: 140,
        totalSteps: 245,
        trained: false,
        attempts: 0,
      },
      {
        name: 'expert-1',
        jobId: 'r/expert-1',
        state: 'completed',
        step: 245,
        totalSteps: 245,
        trained: true,
        attempts: 0,
      },
    ];
    expect(formatQueueStatus(models).split('\n')).toEqual(
      [
        'model     state      checkpoint                        ',
        'expert-0  active     100/245 (worker reported 140)',
        'expert-1  completed  245/245                        trained',
        '',
      ].map((l) => l.trimEnd()),
    );
  });
});
