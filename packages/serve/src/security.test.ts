import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { formatAccessLog } from './access-log.js';
import { allowedHostNames, hostNameOf, isLoopback } from './allowed-hosts.js';
import { apiKeyDigest, hasApiKey } from './api-key.js';

const withAuth = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('API key', () => {
  const key = apiKeyDigest('s3cret-key');
  it('accepts exactly "Bearer <key>"', () => {
    expect(hasApiKey(withAuth('Bearer s3cret-key'), key)).toBe(true);
    expect(hasApiKey(withAuth('bearer  s3cret-key'), key)).toBe(true);
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer s3cret-ke',
      'Bearer s3cret-key2',
      's3cret-key',
      'Basic s3cret-key',
      'Bearer s3cret-key x',
    ])
      expect(hasApiKey(withAuth(h), key), String(h)).toBe(false);
  });
});

describe('host allow-list', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com'])
      expect(isLoopback(h)).toBe(false);
  });
  it('reads the host name of a Host header', () => {
    expect(hostNameOf('localhost:8080')).toBe('localhost');
    expect(hostNameOf('[::1]:8080')).toBe('::1');
    expect(hostNameOf('Example.COM.')).toBe('example.com');
    expect(hostNameOf(undefined)).toBeUndefined();
    expect(hostNameOf('a:b:c')).toBeUndefined();
  });
  it('on loopback allows only loopback names and the extra ones; elsewhere any, unless told', () => {
    const loop = allowedHostNames('127.0.0.1')!;
    expect([...loop].sort()).toEqual(['127.0.0.1', '::1', 'localhost']);
    expect(allowedHostNames('127.0.0.1', ['my.box'])!.has('my.box')).toBe(true);
    expect(allowedHostNames('0.0.0.0')).toBeNull();
    expect([...allowedHostNames('0.0.0.0', ['api.example.com'])!]).toEqual([
      '0.0.0.0',
      'api.example.com',
    ]);
  });
});

describe('access log', () => {
  it('writes one line: time, method, path, status, ms, tokens', () => {
    const at = new Date('2026-12-04T17:00:00Z');
    expect(
      formatAccessLog(
        {
          method: 'POST',
          path: '/v1/completions',
          status: 200,
          ms: 812.4,
          aborted: false,
          tokens: 16,
        },
        at,
      ),
    ).toBe('2026-12-04T17:00:00.000Z POST /v1/completions 200 812ms 16 tokens');
    expect(
      formatAccessLog({ method: 'GET', path: '/health', status: 503, ms: 0.2, aborted: true }, at),
    ).toBe('2026-12-04T17:00:00.000Z GET /health 503 0ms aborted');
  });
});
