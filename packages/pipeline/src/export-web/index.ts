export {
  defaultExportWebOptions,
  type ExportWebOptions,
  type ExportWebResult,
  exportWeb,
  WEB_EXPORT_MARKER,
} from './export-web.js';
export {
  type ExportedFile,
  WEB_DEMO_FORMAT,
  WEB_DEMO_VERSION,
  WEB_EMBEDDER_FORMAT,
  type WebDemoManifest,
  type WebEmbedderJson,
} from './web-format.js';
