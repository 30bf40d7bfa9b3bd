import { CbtmError } from '@cbtm/core';
import { TRAINING_JOB_VERSION, type TrainingJobData } from './training-job.js';

/** The job's data, checked to be a cbtm training job of this version. */
export function checkJobData(data: unknown): TrainingJobData {
  const d = data as Partial<TrainingJobData> | null;
  if (d?.format !== 'cbtm-train-job' || typeof d.runDir !== 'string' || !d.target) {
    throw new CbtmError(
      'E_FORMAT',
      'This job is not a cbtm training job (its data has no "format": "cbtm-train-job").',
    );
  }
  if (d.version !== TRAINING_JOB_VERSION) {
    throw new CbtmError(
      'E_FORMAT',
      `This job was queued by a cbtm with job format version ${d.version}; this worker reads version ${TRAINING_JOB_VERSION}. Run workers and the enqueuer from the same cbtm version.`,
    );
  }
  return d as TrainingJobData;
}
