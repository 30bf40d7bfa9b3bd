export { type CommandContext, createProgram, runCli } from './cli.js';
export {
  CONFIG_FILE_NAMES,
  type ConfigOverride,
  configJsonSchema,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  resolveConfig,
} from './config/load-config.js';
export {
  type CbtmConfig,
  type CbtmConfigInput,
  cbtmConfigSchema,
  defineConfig,
  type TopK,
} from './config/schema.js';
export { type CorpusSource, corpusSource } from './corpus-source.js';
export { EXIT_CODES, exitCodeFor, oneLine } from './exit-codes.js';
export {
  defaultExportWebOptions,
  type ExportedFile,
  type ExportWebOptions,
  type ExportWebResult,
  exportWeb,
  WEB_DEMO_FORMAT,
  WEB_DEMO_VERSION,
  WEB_EMBEDDER_FORMAT,
  WEB_EXPORT_MARKER,
  type WebDemoManifest,
  type WebEmbedderJson,
} from './export-web/index.js';
export {
  createProgressRenderer,
  defaultProgressRendererOptions,
  type ProgressRenderer,
  type ProgressRendererOptions,
} from './progress/terminal-renderer.js';
export { collectReportData } from './report/collect-report-data.js';
export { REPORT_CHART_IDS, renderReportHtml } from './report/render-report.js';
export type { EmbeddingMap, LossCurve, ReportData } from './report/report-data.js';
export { writeReport } from './report/write-report.js';
export {
  type ClusterQuality,
  type EvalResults,
  formatResultsTable,
  type MethodResult,
  methodLabel,
} from './results.js';
export {
  openRun,
  type PipelineResult,
  type RunPipelineOptions,
  runPipeline,
} from './run-pipeline.js';
export { STAGE_NAMES, type StageName, type StageReport } from './stages/stage.js';
export {
  type RunSweepOptions,
  runSweep,
  type SweepRunResult,
} from './sweep/run-sweep.js';
export { shareStages } from './sweep/share-stages.js';
export {
  loadSweepConfig,
  resolveSweepConfig,
  type SweepConfig,
  type SweepConfigInput,
  sweepConfigJsonSchema,
  sweepConfigSchema,
} from './sweep/sweep-config.js';
export { renderSweepHtml, renderSweepSvg } from './sweep/sweep-figure.js';
export { SWEEP_LAYOUT, type SweepPoint, seedRunFor, sweepPoints } from './sweep/sweep-layout.js';
export type {
  SweepPointResult,
  SweepResults,
  SweepSeed,
  TrainingTiming,
} from './sweep/sweep-results.js';
