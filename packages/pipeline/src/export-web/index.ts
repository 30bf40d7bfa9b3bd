export {
  defaultExportWebOptions,
  type ExportWebOptions,
  type ExportWebResult,
  exportWeb,
} from './export-web.js';
export {
  type ExportedFile,
  WEB_DEMO_FORMAT,
  WEB_DEMO_VERSION,
  WEB_EMBEDDER_FORMAT,
  type WebDemoManifest,
  type WebEmbedderJson,
} from './web-format.js';
