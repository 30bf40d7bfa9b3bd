export { formatAccessLog } from './access-log.js';
export { createServer } from './create-server.js';
export type { ErrorBody, HttpErrorCode } from './http-error.js';
export type {
  CompletionRequest,
  GenerateRequest,
  RouteRequest,
  ScoreRequest,
} from './request-schemas.js';
export {
  defaultServeOptions,
  type InferenceServer,
  type ServedRequest,
  type ServeOptions,
} from './server-options.js';
