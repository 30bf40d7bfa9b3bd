export {
  createServer,
  defaultServeOptions,
  type InferenceServer,
  type ServedRequest,
  type ServeOptions,
} from './create-server.js';
export type { HttpErrorCode } from './http-json.js';
export type { GenerateRequest, RouteRequest, ScoreRequest } from './request-schemas.js';
