import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ensemble, GeneratedToken } from '@cbtm/ensemble';
import { type LoadedRun, loadRun } from '@cbtm/ensemble/node';
import { buildTinyRun, TINY_MODEL, type TinyRun, trainTinyExperts } from '@cbtm/testing/tiny-run';
import { OpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import type { InferenceServer } from './server-options.js';

/** The server's default window stride past the context: a quarter of the experts' context. */
const SERVER_STRIDE = TINY_MODEL.contextLength / 4;

const KEY = 'sk-cbtm-langchain-0123';
let root: string;
let run: TinyRun;
let server: InferenceServer;
let directRun: LoadedRun;
let direct: Ensemble;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-langchain-'));
  run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
  server = await createServer(run.dir, {
    port: 0,
    backend: 'wasm',
    apiKey: KEY,
    log: () => undefined,
  });
  directRun = await loadRun(run.dir, { backend: 'wasm', log: () => undefined });
  direct = directRun.cbtm;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await directRun?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

async function directTokens(prompt: string, options: Parameters<Ensemble['generate']>[1]) {
  const tokens: GeneratedToken[] = [];
  for await (const t of direct.generate(prompt, { slideStride: SERVER_STRIDE, ...options }))
    tokens.push(t);
  return tokens;
}

/** The docs example (docs/serving.md, "From LangChain"), pointed at the test server. */
const llm = (streaming = false) =>
  new OpenAI({
    model: 'cbtm',
    apiKey: KEY,
    configuration: { baseURL: `${server.url}/v1` },
    maxTokens: 12,
    temperature: 0.8,
    streaming,
    maxRetries: 0,
    // cbtm's own options, and a seed, ride along as extra body fields.
    modelKwargs: { seed: 7, routing: { topK: 2 } },
  });

describe('LangChain’s OpenAI LLM on a cbtm server', () => {
  it('completes a prompt: the text Ensemble.generate gives for the seed, with token usage', async () => {
    const want = await directTokens('The court', {
      maxTokens: 12,
      temperature: 0.8,
      seed: 7,
      routing: { topK: 2 },
    });
    expect(want.length).toBe(12);
    const result = await llm().generate(['The court']);
    expect(result.generations).toHaveLength(1);
    const [first] = result.generations[0]!;
    expect(first!.text).toBe(want.map((t) => t.token).join(''));
    expect(first!.generationInfo).toMatchObject({ finishReason: 'length' });
    expect(result.llmOutput?.tokenUsage).toEqual({
      completionTokens: 12,
      promptTokens: direct.tokenizer.encode('The court').length,
      totalTokens: 12 + direct.tokenizer.encode('The court').length,
    });
    // invoke() is the short form: the same text.
    expect(await llm().invoke('The court')).toBe(first!.text);
  });

  it('streams the same text through the worker, chunk by chunk', async () => {
    const whole = await llm().invoke('In the beginning');
    const chunks: string[] = [];
    for await (const chunk of await llm(true).stream('In the beginning')) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(whole);
  });
});
