export {
  defaultEnqueueTrainingOptions,
  type EnqueueOutcome,
  type EnqueueResult,
  type EnqueueTrainingOptions,
  enqueueTraining,
} from './enqueue-training.js';
export {
  type QueueJobState,
  type QueueModelStatus,
  type QueueStatusResult,
  queueStatus,
} from './queue-status.js';
export { defaultQueueConnectionOptions, type QueueConnectionOptions } from './redis-connection.js';
export {
  defaultRunWorkerOptions,
  type RunWorkerOptions,
  runWorker,
  type WorkerSummary,
} from './run-worker.js';
export {
  runIdOf,
  type TrainingJobData,
  type TrainingJobProgress,
  type TrainingJobResult,
  type TrainingTarget,
  trainingJobId,
} from './training-job.js';
