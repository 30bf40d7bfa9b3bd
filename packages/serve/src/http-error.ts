/**
 * Stable `error.code` strings of the server's JSON error bodies.
 *
 * @example
 * ```ts
 * const { error } = await res.json();
 * if ((error.code as HttpErrorCode) === 'invalid_request') console.error(error.field, error.message);
 * ```
 */
export type HttpErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_api_key'
  | 'forbidden_host'
  | 'forbidden_origin'
  | 'unsupported_media_type'
  | 'not_found'
  | 'model_not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'shutting_down'
  | 'queue_full'
  | 'timeout'
  | 'cancelled'
  | 'internal';

/**
 * The `error.type` of an OpenAI error body, from the status.
 *
 * @example
 * ```ts
 * errorType(401); // 'authentication_error'
 * ```
 */
export function errorType(status: number): string {
  if (status >= 500) return 'server_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'invalid_request_error';
}

/**
 * The body of every error response, in OpenAI's shape.
 *
 * @example
 * ```ts
 * const body: ErrorBody = await res.json();
 * console.error(body.error.code, body.error.param, body.error.message);
 * ```
 */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: HttpErrorCode };
}

/**
 * An error that becomes an HTTP response in OpenAI's error shape:
 * `{ "error": { "message", "type", "param", "code" } }`, `param` naming the request field at fault.
 *
 * @example
 * ```ts
 * throw new HttpError(400, 'invalid_request', 'field "max_tokens": expected an integer', 'max_tokens');
 * ```
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;
  /** The request field at fault (dotted path), for 400s. */
  readonly field: string | undefined;
  /** Seconds to send as `Retry-After` (for 429s). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    field?: string,
    retryAfter?: number,
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  /** The JSON body of the response. */
  toBody(): ErrorBody {
    return {
      error: {
        message: this.message,
        type: errorType(this.status),
        param: this.field ?? null,
        code: this.code,
      },
    };
  }
}
