import { clusterStage, shardStage } from './cluster.js';
import { embedStage } from './embed.js';
import { evalStage } from './eval.js';
import { reportStage } from './report.js';
import { routerStage } from './router.js';
import type { StageDefinition } from './stage.js';
import { tokenizerStage } from './tokenizer.js';
import { denseStage, expertsStage, randomStage, seedStage } from './training.js';

/** Every stage, in pipeline order. */
export const STAGES: readonly StageDefinition[] = [
  embedStage,
  clusterStage,
  shardStage,
  tokenizerStage,
  seedStage,
  expertsStage,
  denseStage,
  randomStage,
  routerStage,
  evalStage,
  reportStage,
];
