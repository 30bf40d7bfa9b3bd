import { CbtmError } from '@cbtm/core';
import { HttpError } from './http-error.js';
import { QueueFullError } from './work-queue.js';

/** `error.code` values of errors thrown by the ensemble that are the client's fault. */
const CLIENT_ERROR_CODES = new Set(['E_INVALID_ARGUMENT']);

/** Absolute file paths (POSIX or Windows), which a response must never show. */
const ABSOLUTE_PATH = /(?:[A-Za-z]:\\|\/)(?:[\w.@+-]+[\\/])+[\w.@+-]*/g;

/**
 * The HTTP error a thrown error becomes; `forced` says the server's shutdown aborted it. An
 * unexpected error is logged whole and answered with a generic 500, and client errors lose any
 * file path, so no response shows where the run lives.
 */
export function toHttpError(
  err: unknown,
  forced: boolean,
  log?: (line: string) => void,
): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof QueueFullError) {
    return new HttpError(429, 'queue_full', err.message, undefined, err.retryAfterSeconds);
  }
  if (err instanceof CbtmError && err.code === 'E_ABORTED') {
    return forced
      ? new HttpError(503, 'shutting_down', 'The server shut down before the request finished.')
      : new HttpError(499, 'cancelled', 'The request was cancelled.');
  }
  if (err instanceof CbtmError && CLIENT_ERROR_CODES.has(err.code)) {
    return new HttpError(400, 'invalid_request', err.message.replace(ABSOLUTE_PATH, '<path>'));
  }
  log?.(`Internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return new HttpError(500, 'internal', 'Internal server error; the server log has the details.');
}
