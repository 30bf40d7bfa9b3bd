import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ensemble, GeneratedToken } from '@cbtm/ensemble';
import { type LoadedRun, loadRun } from '@cbtm/ensemble/node';
import { buildTinyRun, TINY_MODEL, type TinyRun, trainTinyExperts } from '@cbtm/testing/tiny-run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import type { InferenceServer, ServedRequest } from './server-options.js';

/** The server's default window stride past the context: a quarter of the experts' context. */
const SERVER_STRIDE = TINY_MODEL.contextLength / 4;

let root: string;
let run: TinyRun;
let server: InferenceServer;
let directRun: LoadedRun;
let direct: Ensemble;
const served: ServedRequest[] = [];
const quiet = { log: () => undefined };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-serve-'));
  run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
  server = await createServer(run.dir, {
    port: 0,
    maxBodyBytes: 4096,
    backend: 'wasm',
    onRequest: (r) => served.push(r),
    ...quiet,
  });
  directRun = await loadRun(run.dir, { backend: 'wasm', ...quiet });
  direct = directRun.cbtm;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await directRun?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function directGeneration(
  prompt: string,
  options: Parameters<Ensemble['generate']>[1],
): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const t of direct.generate(prompt, { slideStride: SERVER_STRIDE, ...options }))
    out.push(t);
  return out;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly these headers (fetch will not forge a Host header); `host: ''` sends none. */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return new Promise((ok, fail) => {
    // An empty host means none: HTTP/1.0 style, no Host header at all.
    const noHost = headers.host === '';
    const { host: _host, ...rest } = headers;
    const options = noHost ? { method, headers: rest, setHost: false } : { method, headers };
    const req = request(`${url}${path}`, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

/** Parses a Server-Sent Events body into its events. */
function parseEvents(body: string): { event: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      return { event, data };
    });
}

const text = () => run.docs[5]!.text.slice(0, 300);

describe('cbtm serve (HTTP inference server)', () => {
  it('reports health', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      k: 2,
      backend: 'wasm',
      queued: 0,
    });
    expect(server.backend).toBe('wasm');
    expect(server.ensemble.k).toBe(2);
  });

  it('routes a text to the nearest centroids with exp(−d²/T) weights', async () => {
    const t = text();
    const res = await post('/v1/route', { text: t, temperature: 0.5 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      experts: number[];
      weights: number[];
      distances: number[];
    };
    // Brute force from the embedder and the centroids.
    const v = await run.embedder.embedText(t);
    const d = run.embedder.dimension;
    const d2 = [0, 1].map((j) =>
      v.reduce((s, x, i) => s + (x - run.centroids[j * d + i]!) ** 2, 0),
    );
    const order = [0, 1].sort((a, b) => d2[a]! - d2[b]!);
    expect(body.experts).toEqual(order);
    const raw = order.map((j) => Math.exp(-d2[j]! / 0.5));
    for (const [i, w] of body.weights.entries())
      expect(w).toBeCloseTo(raw[i]! / (raw[0]! + raw[1]!), 5);
    for (const [i, x] of body.distances.entries()) expect(x).toBeCloseTo(d2[order[i]!]!, 5);
    const top1 = (await (await post('/v1/route', { text: t, topK: 1 })).json()) as {
      experts: number[];
      weights: number[];
    };
    expect(top1).toMatchObject({ experts: [order[0]], weights: [1] });
  });

  it('scores a text exactly as Ensemble.scoreSequence does', async () => {
    const t = text();
    const res = await post('/v1/score', { text: t, topK: 2 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      tokens: { id: number; text: string; logProb: number; experts: number[] }[];
      nll: number;
      perplexity: number;
      expertsRun: number[];
    };
    const want = await direct.scoreSequence(t, { topK: 2 });
    expect(body.perplexity).toBe(want.perplexity);
    expect(body.nll).toBe(want.nll);
    expect(body.tokens.map((x) => x.id)).toEqual([...run.tokenizer.encode(t), run.tokenizer.eosId]);
    expect(body.tokens.map((x) => x.logProb)).toEqual(Array.from(want.tokenLogProbs));
    expect(body.tokens.map((x) => x.experts)).toEqual(want.routes.map((r) => r.experts));
    expect(body.tokens.map((x) => x.text).join('')).toBe(`${t}<|endoftext|>`);
    const mean = -body.tokens.reduce((s, x) => s + x.logProb, 0) / body.tokens.length;
    expect(body.perplexity).toBeCloseTo(Math.exp(mean), 9);

    const perSequence = (await (
      await post('/v1/score', { text: t, weightsMode: 'per-sequence', topK: 1 })
    ).json()) as { perplexity: number };
    expect(perSequence.perplexity).toBe(
      (await direct.scoreSequence(t, { weightsMode: 'per-sequence', topK: 1 })).perplexity,
    );
  });

  it('generates deterministically for a seed, as Ensemble.generate does', async () => {
    const request = {
      prompt: 'The law',
      maxTokens: 24,
      temperature: 0.9,
      topP: 0.95,
      topK: 50,
      seed: 7,
      routing: { topK: 2 },
    };
    const a = (await (await post('/v1/generate', request)).json()) as {
      text: string;
      tokens: GeneratedToken[];
      finishReason: string;
    };
    const b = (await (await post('/v1/generate', request)).json()) as typeof a;
    expect(b).toEqual(a);
    const want = await directGeneration('The law', {
      maxTokens: 24,
      temperature: 0.9,
      topP: 0.95,
      topK: 50,
      seed: 7,
      routing: { topK: 2 },
    });
    expect(a.tokens).toEqual(want);
    expect(a.text).toBe(want.map((t) => t.token).join(''));
    expect(a.finishReason).toBe(want.length === 24 ? 'length' : 'stop');
    const other = (await (await post('/v1/generate', { ...request, seed: 8 })).json()) as typeof a;
    expect(other.tokens.map((t) => t.id)).not.toEqual(a.tokens.map((t) => t.id));
  });

  it('streams the same tokens as Server-Sent Events', async () => {
    const request = { prompt: 'In the', maxTokens: 20, seed: 3, temperature: 1 };
    const whole = (await (await post('/v1/generate', request)).json()) as {
      text: string;
      tokens: GeneratedToken[];
      finishReason: string;
    };
    for (const streamed of [
      await post('/v1/generate', { ...request, stream: true }),
      await post('/v1/generate', request, { accept: 'text/event-stream' }),
    ]) {
      expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = parseEvents(await streamed.text());
      const tokens = events.filter((e) => e.event === 'token').map((e) => e.data as GeneratedToken);
      expect(tokens).toEqual(whole.tokens);
      expect(tokens.map((t) => t.token).join('')).toBe(whole.text);
      expect(events.at(-1)).toEqual({
        event: 'done',
        data: { text: whole.text, count: whole.tokens.length, finishReason: whole.finishReason },
      });
    }
  });

  it('mixes with BTM’s updating prior, or a cached prior estimated at start, when asked', async () => {
    const body = { text: text(), mixing: 'updating-prior', topK: 1 };
    const got = (await (await post('/v1/score', body)).json()) as {
      nll: number;
      expertsRun: number[];
    };
    const want = await direct.scoreSequence(text(), { mixing: 'updating-prior', topK: 1 });
    expect(got.nll).toBeCloseTo(want.nll, 9);
    expect(got.expertsRun).toEqual([0, 1]);
    const gen = (await (
      await post('/v1/generate', { prompt: 'The', maxTokens: 4, seed: 3, mixing: 'updating-prior' })
    ).json()) as { tokens: GeneratedToken[] };
    expect(gen.tokens.map((t) => t.id)).toEqual(
      (await directGeneration('The', { maxTokens: 4, seed: 3, mixing: 'updating-prior' })).map(
        (t) => t.id,
      ),
    );
    // This server has no cached prior.
    const res = await post('/v1/score', { text: 'The', mixing: 'cached-prior' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'mixing' } });

    const docs = run.docs.slice(0, 4);
    const withPrior = await createServer(run.dir, {
      port: 0,
      backend: 'wasm',
      mixing: 'cached-prior',
      priorDocuments: docs,
      ...quiet,
    });
    try {
      const prior = await direct.estimatePrior(docs);
      const r = (await (
        await fetch(`${withPrior.url}/v1/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: text() }),
        })
      ).json()) as { nll: number };
      const w = await direct.scoreSequence(text(), { mixing: 'cached-prior', prior });
      expect(r.nll).toBeCloseTo(w.nll, 9);
    } finally {
      await withPrior.close();
    }
    await expect(
      createServer(run.dir, { port: 0, mixing: 'cached-prior', ...quiet }),
    ).rejects.toThrow(/needs a prior/);
  });

  it('refuses forged Host headers, browser origins and non-JSON bodies, and shows no paths', async () => {
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ text: 'The court' });
    for (const host of ['evil.example', 'evil.example:80', `attacker.test:${server.port}`]) {
      const res = await raw(server.url, 'POST', '/v1/route', { ...json, host }, body);
      expect(res.status, host).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'forbidden_host' } });
    }
    // Node's HTTP parser itself refuses an HTTP/1.1 request without a Host header.
    const noHost = await raw(server.url, 'POST', '/v1/route', { ...json, host: '' }, body);
    expect(noHost.status).toBe(400);
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, 'LOCALHOST']) {
      expect((await raw(server.url, 'POST', '/v1/route', { ...json, host }, body)).status).toBe(
        200,
      );
    }
    // A web page can POST text/plain (or a form) without a CORS preflight: refused unread.
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', '']) {
      const res = await raw(
        server.url,
        'POST',
        '/v1/route',
        type ? { 'content-type': type } : {},
        body,
      );
      expect(res.status, type).toBe(415);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'unsupported_media_type' } });
    }
    // CORS is off: a browser's cross-origin request gets a 403 and no CORS headers.
    const cross = await raw(
      server.url,
      'POST',
      '/v1/route',
      { ...json, origin: 'https://evil.example' },
      body,
    );
    expect(cross.status).toBe(403);
    expect(cross.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await raw(server.url, 'OPTIONS', '/v1/route', {
      origin: 'https://evil.example',
    });
    expect(preflight.status).toBe(403);
    // No response holds a file path.
    const health = await raw(server.url, 'GET', '/health', {});
    expect(health.body).not.toContain(root);
    expect(health.body).not.toMatch(/\//);
  });

  it('with an API key, needs it on /v1/*; allows the CORS origins it was given; logs each request', async () => {
    const lines: string[] = [];
    const key = 'test-key-0123456789';
    const secured = await createServer(run.dir, {
      port: 0,
      backend: 'wasm',
      apiKey: key,
      cors: ['https://app.example'],
      log: (line) => lines.push(line),
    });
    try {
      const json = { 'content-type': 'application/json' };
      const body = JSON.stringify({ text: 'The court' });
      expect((await raw(secured.url, 'GET', '/health', {})).status).toBe(200);
      for (const auth of [undefined, 'Bearer wrong-key-0123456789', key, `Basic ${key}`]) {
        const res = await raw(
          secured.url,
          'POST',
          '/v1/route',
          auth ? { ...json, authorization: auth } : json,
          body,
        );
        expect(res.status, String(auth)).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_api_key' } });
      }
      const ok = await raw(
        secured.url,
        'POST',
        '/v1/route',
        { ...json, authorization: `Bearer ${key}` },
        body,
      );
      expect(ok.status).toBe(200);

      const origin = 'https://app.example';
      const preflight = await raw(secured.url, 'OPTIONS', '/v1/route', {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
      expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
      const fromApp = await raw(
        secured.url,
        'POST',
        '/v1/route',
        { ...json, origin, authorization: `Bearer ${key}` },
        body,
      );
      expect(fromApp.status).toBe(200);
      expect(fromApp.headers['access-control-allow-origin']).toBe(origin);
      expect(
        (
          await raw(
            secured.url,
            'POST',
            '/v1/route',
            { ...json, origin: 'https://other.example' },
            body,
          )
        ).status,
      ).toBe(403);
    } finally {
      await secured.close();
    }
    const access = lines.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
    expect(access.map((l) => l.split(' ').slice(1, 4).join(' '))).toEqual([
      'GET /health 200',
      'POST /v1/route 401',
      'POST /v1/route 401',
      'POST /v1/route 401',
      'POST /v1/route 401',
      'POST /v1/route 200',
      'OPTIONS /v1/route 204',
      'POST /v1/route 200',
      'POST /v1/route 403',
    ]);
    for (const l of access) expect(l).toMatch(/ \d+ms$/);
    expect(lines.join('\n')).not.toContain(key);
  });

  it('rejects bad requests with a 400 naming the field, unknown paths with 404, big bodies with 413', async () => {
    const cases: [string, unknown, string][] = [
      ['/v1/generate', { prompt: 'x', maxTokens: -1 }, 'maxTokens'],
      ['/v1/generate', { prompt: 'x', maxTokens: 5000 }, 'maxTokens'],
      ['/v1/generate', { prompt: 5 }, 'prompt'],
      ['/v1/generate', { prompt: 'x', max_tokens: 5 }, 'max_tokens'],
      ['/v1/generate', { prompt: 'x', topP: 0 }, 'topP'],
      ['/v1/generate', { prompt: 'x', routing: { topK: 'some' } }, 'routing.topK'],
      ['/v1/score', { text: 'a b', topK: 0 }, 'topK'],
      ['/v1/score', { text: '' }, 'text'],
      ['/v1/score', { text: 'a b', weightsMode: 'per-word' }, 'weightsMode'],
      ['/v1/route', {}, 'text'],
      ['/v1/route', { text: 'a', temperature: -1 }, 'temperature'],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      const { error } = (await res.json()) as {
        error: { code: string; param: string; message: string; type: string };
      };
      expect(error.code).toBe('invalid_request');
      expect(error.param).toBe(field);
      expect(error.type).toBe('invalid_request_error');
      expect(error.message).toContain(`"${field}"`);
    }
    const notJson = await post('/v1/score', '{"text": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const array = await post('/v1/score', '[1]');
    expect(array.status).toBe(400);

    const missing = await fetch(`${server.url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const wrongMethod = await fetch(`${server.url}/v1/score`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');

    const big = await post('/v1/score', { text: 'a'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });

  it('runs concurrent requests, each with its own answer', async () => {
    const t = text();
    const gen = { prompt: 'The', maxTokens: 12, seed: 11 };
    const [s1, g, s2] = await Promise.all([
      post('/v1/score', { text: t, topK: 1 }).then((r) => r.json()),
      post('/v1/generate', gen).then((r) => r.json()),
      post('/v1/score', { text: t.slice(0, 100) }).then((r) => r.json()),
    ]);
    expect((s1 as { perplexity: number }).perplexity).toBe(
      (await direct.scoreSequence(t, { topK: 1 })).perplexity,
    );
    expect((s2 as { perplexity: number }).perplexity).toBe(
      (await direct.scoreSequence(t.slice(0, 100))).perplexity,
    );
    expect((g as { tokens: GeneratedToken[] }).tokens).toEqual(await directGeneration('The', gen));
  });

  it('stops generating when the client disconnects', async () => {
    // Greedy: this run's greedy text does not reach end-of-text within 150 tokens.
    const request = { prompt: 'The', maxTokens: 150, temperature: 0, stream: true };
    const full = await directGeneration('The', request);
    expect(full.length).toBe(150);
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let received = '';
    while (!received.includes('event: token'))
      received += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const aborted = () =>
      served.find((r) => r.path === '/v1/generate' && r.tokens !== undefined && r.aborted);
    const deadline = Date.now() + 20_000;
    while (!aborted() && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    const info = aborted();
    expect(info).toBeDefined();
    expect(info!.tokens).toBeLessThan(full.length);
    // The server is free again: the worker gives its slot back at its next check, a moment
    // after the response ends (the access log records the end).
    const queued = async () =>
      ((await (await fetch(`${server.url}/health`)).json()) as { queued: number }).queued;
    const freeBy = Date.now() + 2000;
    while ((await queued()) !== 0 && Date.now() < freeBy)
      await new Promise((ok) => setTimeout(ok, 20));
    expect(await queued()).toBe(0);
  });

  it('on its signal, lets running requests finish, then stops', async () => {
    const ac = new AbortController();
    const other = await createServer(run.dir, {
      port: 0,
      backend: 'wasm',
      signal: ac.signal,
      ...quiet,
    });
    const request = { prompt: 'In the', maxTokens: 30, seed: 9, stream: true };
    const res = await fetch(`${other.url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const reader = res.body!.getReader();
    let body = '';
    while (!body.includes('event: token'))
      body += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    for (let r = await reader.read(); !r.done; r = await reader.read())
      body += new TextDecoder().decode(r.value);
    const events = parseEvents(body);
    expect(events.at(-1)!.event).toBe('done');
    const want = await directGeneration('In the', request);
    expect(events.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(want);
    await other.closed;
    await expect(fetch(`${other.url}/health`)).rejects.toThrow();
  });

  it('aborts what is still running when the grace period is over', async () => {
    const other = await createServer(run.dir, {
      port: 0,
      backend: 'wasm',
      shutdownGraceMs: 0,
      ...quiet,
    });
    // Greedy: this run's greedy text does not reach end-of-text within 150 tokens.
    const request = { prompt: 'The', maxTokens: 150, temperature: 0, stream: true };
    const full = await directGeneration('The', request);
    expect(full.length).toBe(150);
    const res = await fetch(`${other.url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    const reader = res.body!.getReader();
    let body = '';
    while (!body.includes('event: token'))
      body += new TextDecoder().decode((await reader.read()).value);
    const closing = other.close();
    for (let r = await reader.read(); !r.done; r = await reader.read())
      body += new TextDecoder().decode(r.value);
    await closing;
    const events = parseEvents(body);
    expect(events.at(-1)).toMatchObject({
      event: 'error',
      data: { code: 'shutting_down', type: 'server_error' },
    });
    expect(events.filter((e) => e.event === 'token').length).toBeLessThan(full.length);
  });
});
