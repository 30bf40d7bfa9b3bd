export {
  defaultEnqueueTrainingOptions,
  type EnqueueOutcome,
  type EnqueueResult,
  type EnqueueTrainingOptions,
  enqueueTraining,
} from './enqueue-training.js';
export { formatQueueStatus } from './format-queue-status.js';
export {
  type QueueJobState,
  type QueueModelStatus,
  type QueueStatusResult,
  queueStatus,
} from './queue-status.js';
export {
  defaultQueueConnectionOptions,
  type QueueConnectionOptions,
  redactRedisUrl,
} from './redis-connection.js';
export { runWorker } from './run-worker.js';
export {
  runIdOf,
  type TrainingJobData,
  type TrainingJobProgress,
  type TrainingJobResult,
  type TrainingTarget,
  trainingJobId,
} from './training-job.js';
export {
  defaultRunWorkerOptions,
  type RunWorkerOptions,
  type WorkerSummary,
} from './worker-options.js';
