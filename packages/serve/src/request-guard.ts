import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostNameOf } from './allowed-hosts.js';
import { hasApiKey } from './api-key.js';
import { HttpError } from './http-error.js';

/** The checks every request passes before its endpoint runs. */
export interface GuardPolicy {
  /** Host names the `Host` header may carry; `null` for any. */
  readonly hosts: ReadonlySet<string> | null;
  /** Origins browsers may call from (`*` for any); empty: no cross-origin use. */
  readonly corsOrigins: readonly string[];
  /** SHA-256 of the API key, when the server has one. */
  readonly apiKey: Buffer | undefined;
}

const isJson = (type: string | undefined) => /^application\/json\s*(;|$)/i.test(type ?? '');

/**
 * Refuses a request that a server on this machine must not run: a foreign `Host` (403, DNS
 * rebinding), a browser `Origin` that is not allowed (403), a missing or wrong API key on `/v1/*`
 * (401). Sets the CORS headers of an allowed origin. Returns true for a CORS preflight, which
 * the caller answers with a 204.
 */
export function guardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  policy: GuardPolicy,
): boolean {
  if (policy.hosts) {
    const name = hostNameOf(req.headers.host);
    if (name === undefined || !policy.hosts.has(name)) {
      throw new HttpError(
        403,
        'forbidden_host',
        `Host ${JSON.stringify(req.headers.host ?? '')} is not served here. Use localhost or 127.0.0.1, or start the server with --allowed-host.`,
      );
    }
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const allowed = policy.corsOrigins.includes('*') || policy.corsOrigins.includes(origin);
    if (!allowed) {
      throw new HttpError(
        403,
        'forbidden_origin',
        `Browser requests from ${origin} are not allowed. Start the server with --cors ${origin} to allow them.`,
      );
    }
    res.setHeader('access-control-allow-origin', policy.corsOrigins.includes('*') ? '*' : origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST');
      res.setHeader('access-control-allow-headers', 'authorization, content-type');
      res.setHeader('access-control-max-age', '600');
      return true;
    }
  }
  if (policy.apiKey && path !== '/health' && !hasApiKey(req, policy.apiKey)) {
    res.setHeader('www-authenticate', 'Bearer');
    throw new HttpError(
      401,
      'invalid_api_key',
      'Missing or wrong API key. Send the header "Authorization: Bearer <key>" with the key the server was started with (--api-key or CBTM_API_KEY).',
    );
  }
  return false;
}

/** A 415 unless the request's body is declared `application/json`. */
export function requireJsonBody(req: IncomingMessage): void {
  if (!isJson(req.headers['content-type'])) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `POST bodies must be JSON with "Content-Type: application/json", got ${JSON.stringify(req.headers['content-type'] ?? '')}.`,
    );
  }
}
