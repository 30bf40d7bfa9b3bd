import { CbtmError } from '@cbtm/core';
import { HttpError } from './http-json.js';

/** `error.code` values of errors thrown by the ensemble that are the client's fault. */
const CLIENT_ERROR_CODES = new Set(['E_INVALID_ARGUMENT']);

/** The HTTP error a thrown error becomes; `forced` says the server's shutdown aborted it. */
export function toHttpError(err: unknown, forced: boolean): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof CbtmError && err.code === 'E_ABORTED') {
    return forced
      ? new HttpError(503, 'shutting_down', 'The server shut down before the request finished.')
      : new HttpError(499, 'cancelled', 'The request was cancelled.');
  }
  if (err instanceof CbtmError && CLIENT_ERROR_CODES.has(err.code)) {
    return new HttpError(400, 'invalid_request', err.message);
  }
  return new HttpError(500, 'internal', err instanceof Error ? err.message : String(err));
}
