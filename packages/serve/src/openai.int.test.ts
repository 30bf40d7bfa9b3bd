import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ensemble, GeneratedToken } from '@cbtm/ensemble';
import { type LoadedRun, loadRun } from '@cbtm/ensemble/node';
import { CURL, describeWithProgram } from '@cbtm/testing';
import { buildTinyRun, TINY_MODEL, type TinyRun, trainTinyExperts } from '@cbtm/testing/tiny-run';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import type { InferenceServer } from './server-options.js';

/** The server's default window stride past the context: a quarter of the experts' context. */
const SERVER_STRIDE = TINY_MODEL.contextLength / 4;

const KEY = 'sk-cbtm-test-0123456789';
let root: string;
let run: TinyRun;
let server: InferenceServer;
let client: OpenAI;
let directRun: LoadedRun;
let direct: Ensemble;
const lines: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-openai-'));
  run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
  // A stand-in dense baseline: any model of the run's vocabulary in <run>/dense/.
  await cp(join(run.dir, 'experts', '0'), join(run.dir, 'dense'), { recursive: true });
  server = await createServer(run.dir, {
    port: 0,
    backend: 'wasm',
    apiKey: KEY,
    log: (line) => lines.push(line),
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
  directRun = await loadRun(run.dir, { backend: 'wasm', log: () => undefined });
  direct = directRun.cbtm;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await directRun?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

async function directText(
  ensemble: Ensemble,
  prompt: string,
  options: Parameters<Ensemble['generate']>[1],
): Promise<{ text: string; tokens: GeneratedToken[] }> {
  const tokens: GeneratedToken[] = [];
  for await (const t of ensemble.generate(prompt, { slideStride: SERVER_STRIDE, ...options }))
    tokens.push(t);
  return { text: tokens.map((t) => t.token).join(''), tokens };
}

describe('OpenAI-compatible API, through the official openai client', () => {
  it('lists the ensemble and the dense baseline as models', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual(['cbtm', 'dense']);
    expect(models[0]).toEqual({
      id: 'cbtm',
      object: 'model',
      created: expect.any(Number),
      owned_by: 'cbtm',
    });
    expect((await client.models.retrieve('dense')).id).toBe('dense');
    const missing = await client.models.retrieve('gpt-4').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  it('completes a prompt exactly as Ensemble.generate does, with usage', async () => {
    const c = await client.completions.create({
      model: 'cbtm',
      prompt: 'The law',
      max_tokens: 12,
      temperature: 0.9,
      top_p: 0.95,
      seed: 7,
    });
    const want = await directText(direct, 'The law', {
      maxTokens: 12,
      temperature: 0.9,
      topP: 0.95,
      seed: 7,
    });
    expect(c.object).toBe('text_completion');
    expect(c.id).toMatch(/^cmpl-/);
    expect(c.model).toBe('cbtm');
    expect(c.choices).toEqual([
      {
        text: want.text,
        index: 0,
        logprobs: null,
        finish_reason: want.tokens.length === 12 ? 'length' : 'stop',
      },
    ]);
    expect(c.usage).toEqual({
      prompt_tokens: run.tokenizer.encode('The law').length,
      completion_tokens: want.tokens.length,
      total_tokens: run.tokenizer.encode('The law').length + want.tokens.length,
    });
    const dense = await client.completions.create({
      model: 'dense',
      prompt: 'The law',
      max_tokens: 8,
      seed: 7,
    });
    expect(dense.choices[0]!.text).toBe(
      (await directText(directRun.dense!, 'The law', { maxTokens: 8, seed: 7 })).text,
    );
    expect(lines.some((l) => / POST \/v1\/completions 200 \d+ms 8 tokens$/.test(l))).toBe(true);
  });

  it('takes cbtm’s routing, mixing and top_k as extra body fields', async () => {
    const c = await client.completions.create({
      model: 'cbtm',
      prompt: 'The',
      max_tokens: 8,
      seed: 2,
      // @ts-expect-error cbtm extensions, not in OpenAI's types
      routing: { topK: 1 },
      mixing: 'updating-prior',
      top_k: 5,
    });
    const want = await directText(direct, 'The', {
      maxTokens: 8,
      seed: 2,
      topK: 5,
      routing: { topK: 1 },
      mixing: 'updating-prior',
    });
    expect(c.choices[0]!.text).toBe(want.text);
  });

  it('stops a streamed completion when the client goes away', async () => {
    const ac = new AbortController();
    const stream = await client.completions.create(
      { model: 'cbtm', prompt: 'The', max_tokens: 150, seed: 5, stream: true },
      { signal: ac.signal },
    );
    let seen = 0;
    try {
      for await (const _ of stream) if (++seen === 2) ac.abort();
    } catch {
      // The client may end the iteration quietly or throw its abort error.
    }
    // Chunks the client had already read before the abort may still come out of its buffer:
    // tokens now arrive as fast as the worker samples them.
    expect(seen).toBeGreaterThanOrEqual(2);
    const deadline = Date.now() + 20_000;
    const aborted = () =>
      lines.find((l) => / POST \/v1\/completions 200 \d+ms \d+ tokens aborted$/.test(l));
    while (!aborted() && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
    expect(Number(/ (\d+) tokens aborted$/.exec(aborted()!)![1])).toBeLessThan(150);
  });

  it('answers n choices per prompt of an array, choice i seeded seed + i; honours stop and echo', async () => {
    const c = await client.completions.create({
      model: 'cbtm',
      prompt: ['The', 'In the'],
      n: 2,
      max_tokens: 6,
      seed: 3,
      echo: true,
    });
    expect(c.choices.map((x) => x.index)).toEqual([0, 1, 2, 3]);
    for (const [i, prompt] of ['The', 'The', 'In the', 'In the'].entries()) {
      const want = await directText(direct, prompt, { maxTokens: 6, seed: 3 + i });
      expect(c.choices[i]!.text).toBe(prompt + want.text);
    }
    expect(c.usage!.prompt_tokens).toBe(
      run.tokenizer.encode('The').length + run.tokenizer.encode('In the').length,
    );
    const full = await directText(direct, 'The', { maxTokens: 30, seed: 5, temperature: 0 });
    const stop = full.tokens.map((t) => t.token).find((t, i) => i >= 2 && t.trim() !== '')!;
    expect(stop).toBeDefined();
    const stopped = await client.completions.create({
      model: 'cbtm',
      prompt: 'The',
      max_tokens: 30,
      seed: 5,
      temperature: 0,
      stop: [stop],
    });
    expect(stopped.choices[0]!.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
  });

  it('returns the mixture’s log-probabilities, of the prompt too with echo', async () => {
    const c = await client.completions.create({
      model: 'cbtm',
      prompt: 'The court',
      max_tokens: 6,
      temperature: 0,
      logprobs: 3,
      echo: true,
    });
    const choice = c.choices[0]!;
    const lp = choice.logprobs!;
    const promptIds = run.tokenizer.encode('The court');
    expect(lp.tokens!.join('')).toBe(choice.text);
    expect(lp.tokens!.length).toBe(promptIds.length + c.usage!.completion_tokens);
    expect(lp.text_offset!).toEqual(
      lp.tokens!.map((_, i) => lp.tokens!.slice(0, i).join('').length),
    );
    // The prompt's log-probabilities are the mixture's, as /v1/score gives them.
    const scored = await direct.scoreSequence('The court', { appendEos: false });
    for (const [t, x] of Array.from(scored.tokenLogProbs).entries())
      expect(lp.token_logprobs![t]!).toBeCloseTo(x, 4);
    // Greedy: each generated token is the most likely one.
    for (let t = promptIds.length; t < lp.tokens!.length; t++) {
      const top = Object.values(lp.top_logprobs![t]!);
      expect(top.length).toBeLessThanOrEqual(3);
      expect(lp.token_logprobs![t]!).toBeCloseTo(Math.max(...top), 6);
      expect(lp.token_logprobs![t]!).toBeLessThanOrEqual(0);
    }
  });

  it('streams the same text chunk by chunk, with a usage chunk when asked', async () => {
    const request = { model: 'cbtm', prompt: 'In the', max_tokens: 10, seed: 4 };
    const whole = await client.completions.create(request);
    const stream = await client.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.flatMap((c) => c.choices.map((x) => x.text)).join('');
    expect(text).toBe(whole.choices[0]!.text);
    const finishes = chunks.flatMap((c) => c.choices.map((x) => x.finish_reason));
    expect(finishes.at(-1)).toBe(whole.choices[0]!.finish_reason);
    expect(finishes.slice(0, -1).every((f) => f === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: whole.usage });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('writes the exact SSE bytes: data lines of chunks, then data: [DONE]', async () => {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'cbtm', prompt: 'The', max_tokens: 3, seed: 1, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
    const events = body.split('\n\n').slice(0, -1);
    expect(events.every((e) => /^data: [^\n]+$/.test(e))).toBe(true);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    for (const c of chunks) {
      expect(Object.keys(c)).toEqual(['id', 'object', 'created', 'model', 'choices']);
      expect(c.object).toBe('text_completion');
      expect(Object.keys(c.choices[0])).toEqual(['text', 'index', 'logprobs', 'finish_reason']);
    }
    const want = await directText(direct, 'The', { maxTokens: 3, seed: 1 });
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(want.text);
    expect(chunks.at(-1).choices[0]).toEqual({
      text: '',
      index: 0,
      logprobs: null,
      finish_reason: want.tokens.length === 3 ? 'length' : 'stop',
    });
  });

  it('answers errors in OpenAI’s shape, which the client turns into its error classes', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ prompt: 'x' }, 'model'],
      [{ model: 'cbtm', prompt: 'x', max_tokens: -1 }, 'max_tokens'],
      [{ model: 'cbtm', prompt: 'x', max_tokens: 5000 }, 'max_tokens'],
      [{ model: 'cbtm', prompt: [1, 2] }, 'prompt'],
      [{ model: 'cbtm', prompt: 'x', frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ model: 'cbtm', prompt: 'x', temperature: 3 }, 'temperature'],
      [{ model: 'cbtm', prompt: 'x', maxTokens: 3 }, 'maxTokens'],
    ];
    for (const [body, param] of cases) {
      const err = await client.completions
        .create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({
        status: 400,
        param,
        code: 'invalid_request',
        type: 'invalid_request_error',
      });
    }
    const wrongModel = await client.completions
      .create({ model: 'gpt-3.5-turbo-instruct', prompt: 'x' })
      .catch((e: unknown) => e);
    expect(wrongModel).toBeInstanceOf(OpenAI.NotFoundError);
    const noKey = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: 'wrong-key-0000',
      maxRetries: 0,
    });
    const denied = await noKey.completions
      .create({ model: 'cbtm', prompt: 'x' })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const raw = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'cbtm', prompt: 'x', n: 0 }),
    });
    expect(await raw.json()).toEqual({
      error: {
        message: expect.stringContaining('"n"'),
        type: 'invalid_request_error',
        param: 'n',
        code: 'invalid_request',
      },
    });
  });
});

describeWithProgram(CURL, 'OpenAI-compatible API, through curl', () => {
  const curl = (args: string[]) =>
    new Promise<string>((ok, fail) => {
      execFile('curl', ['-sS', '--max-time', '60', ...args], (err, stdout) =>
        err ? fail(err) : ok(stdout),
      );
    });
  const auth = ['-H', `authorization: Bearer ${KEY}`];
  const complete = (body: object, extra: string[] = []) =>
    curl([
      ...extra,
      ...auth,
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify(body),
      `${server.url}/v1/completions`,
    ]);

  it('completes a prompt, whole and streamed as data: chunks ending in data: [DONE]', async () => {
    const want = await directText(direct, 'The law', { maxTokens: 8, seed: 7 });
    const finish = want.tokens.length === 8 ? 'length' : 'stop';
    const request = { model: 'cbtm', prompt: 'The law', max_tokens: 8, seed: 7 };
    const whole = JSON.parse(await complete(request));
    expect(whole).toMatchObject({
      object: 'text_completion',
      model: 'cbtm',
      choices: [{ index: 0, text: want.text, logprobs: null, finish_reason: finish }],
      usage: { completion_tokens: want.tokens.length },
    });
    const events = (await complete({ ...request, stream: true }, ['-N']))
      .split('\n\n')
      .filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return JSON.parse(e.slice('data: '.length)) as {
        id: string;
        object: string;
        choices: { text: string; finish_reason: string | null }[];
      };
    });
    expect(chunks.every((c) => c.object === 'text_completion' && c.id === chunks[0]!.id)).toBe(
      true,
    );
    expect(chunks.map((c) => c.choices[0]!.text).join('')).toBe(want.text);
    expect(chunks.map((c) => c.choices[0]!.finish_reason)).toEqual([
      ...chunks.slice(1).map(() => null),
      finish,
    ]);
  });

  it('lists the models, and answers a request without the key with a 401 in OpenAI’s shape', async () => {
    const models = JSON.parse(await curl([...auth, `${server.url}/v1/models`])) as {
      data: { id: string }[];
    };
    expect(models.data.map((m) => m.id)).toEqual(['cbtm', 'dense']);
    const [body, status] = (await curl(['-w', '\n%{http_code}', `${server.url}/v1/models`])).split(
      '\n',
    );
    expect(status).toBe('401');
    expect(JSON.parse(body!)).toMatchObject({ error: { type: 'authentication_error' } });
  });
});
