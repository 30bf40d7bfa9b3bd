import type { IncomingMessage, ServerResponse } from 'node:http';

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

  constructor(status: number, code: HttpErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.field = field;
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

/** Writes `value` as a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/**
 * Reads the request body as JSON, refusing more than `limit` bytes with a 413 (checked against
 * `Content-Length` first, so an oversized upload is not read at all). An empty body is `{}`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(
      413,
      'payload_too_large',
      `The request body is ${declared} bytes; this server accepts at most ${limit}.`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new HttpError(
        413,
        'payload_too_large',
        `The request body is over ${limit} bytes, the most this server accepts.`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      'invalid_json',
      `The request body is not valid JSON: ${(err as Error).message}`,
    );
  }
}
