// The demo page's browser runtime (docs/.vitepress/demo/runtime) reimplements, without Node
// APIs, what @cbtm/train, @cbtm/embed, @cbtm/route and @cbtm/ensemble do. These tests run both
// on the same `cbtm export-web` output and assert they agree, so the demo cannot drift.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEmbedder } from '@cbtm/embed/node';
import { CompletedWords, createContextState } from '@cbtm/ensemble';
import { loadRun } from '@cbtm/ensemble/node';
import { loadRouter } from '@cbtm/route/node';
import { BpeTokenizer, GptModel, selectBackend } from '@cbtm/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGpt, type WebGptModelJson } from '../../../docs/.vitepress/demo/runtime/gpt.js';
import { type AssetReader, DemoSession } from '../../../docs/.vitepress/demo/runtime/session.js';
import { WebTokenizer } from '../../../docs/.vitepress/demo/runtime/tokenizer.js';
import { makeTinyRun } from '../../pipeline/src/export-web/test-utils/tiny-run.js';
import { exportWeb } from './test-utils/export-web.js';
import { DOCS } from './test-utils/paths.js';

const TEXTS = [
  'In the beginning God created the heaven and the earth.',
  'Permission is hereby granted, free of charge, to any person obtaining a copy',
  'The open() system call opens the file specified by pathname.',
  'json.dumps(obj, *, skipkeys=False) Serialize obj to a JSON formatted str.',
  'naïve café — 🙂 emoji, ÆØÅ, 1984 numbers and a tab\tand\nnewlines   spaces ',
  "don't stop-words it's THE end!!! 3rd 2nd ²nd",
];

function fsReader(dir: string): AssetReader {
  return {
    text: (p) => readFile(join(dir, p), 'utf8'),
    bytes: async (p) => {
      const b = await readFile(join(dir, p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

describe('the demo runtime agrees with the cbtm packages on an exported run', () => {
  let tmp: string;
  let runDir: string;
  let webDir: string;
  let session: DemoSession;

  beforeAll(async () => {
    await selectBackend('cpu');
    tmp = await mkdtemp(join(tmpdir(), 'cbtm-demo-runtime-'));
    runDir = await makeTinyRun(join(tmp, 'run'));
    webDir = join(tmp, 'web');
    await exportWeb(runDir, webDir, { prompts: ['In the beginning'] });
    session = await DemoSession.load(fsReader(webDir));
  });
  afterAll(async () => {
    session?.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  it('tokenizes and decodes exactly like BpeTokenizer', async () => {
    const node = await BpeTokenizer.load(join(runDir, 'tokenizer', 'tokenizer.json'));
    const web = new WebTokenizer(
      JSON.parse(await readFile(join(webDir, 'tokenizer.json'), 'utf8')),
    );
    expect(web.vocabSize).toBe(node.vocabSize);
    expect(web.eosId).toBe(node.eosId);
    for (const text of TEXTS) {
      const ids = node.encode(text);
      expect(web.encode(text)).toEqual(ids);
      expect(web.decode(ids)).toBe(node.decode(ids));
      for (let i = 0; i < ids.length; i++) {
        expect(web.tokenStartsWord(ids[i]!, i > 0 ? ids[i - 1] : undefined)).toBe(
          node.tokenStartsWord(ids[i]!, i > 0 ? ids[i - 1] : undefined),
        );
      }
    }
  });

  it('embeds like the fitted TfidfSvdEmbedder', async () => {
    const node = await loadEmbedder(join(runDir, 'embedder'));
    for (const text of TEXTS) {
      const a = await node.embedText(text);
      const b = session.embedder.embed(text);
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    }
  });

  it('routes the complete words of a text like CompletedWords + createContextState + ExactRouter', async () => {
    const tok = await BpeTokenizer.load(join(runDir, 'tokenizer', 'tokenizer.json'));
    const embedder = await loadEmbedder(join(runDir, 'embedder'));
    const router = await loadRouter(join(runDir, 'router'));
    for (const text of TEXTS) {
      for (const [topK, temperature] of [
        [3, 0.1],
        [2, 0.5],
        [1, 0.1],
      ] as const) {
        const words = new CompletedWords(tok);
        const ctx = createContextState(embedder, 8);
        for (const id of tok.encode(text)) ctx.push(words.append(id));
        const expected = router.route(await ctx.vector(), { topK, temperature });
        const got = session.routeText(text, { topK, temperature });
        expect(got.experts).toEqual(expected.experts);
        for (const [i, w] of got.weights.entries()) expect(w).toBeCloseTo(expected.weights[i]!, 5);
        expect(got.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    }
  });

  it("computes every expert's log-probabilities like GptModel.logProbs", async () => {
    const tok = await BpeTokenizer.load(join(runDir, 'tokenizer', 'tokenizer.json'));
    const ids = [tok.eosId, ...tok.encode(TEXTS[0]!)].slice(0, 24);
    for (let j = 0; j < session.k; j++) {
      const node = await GptModel.load(join(runDir, 'experts', String(j)));
      const expected = await node.logProbs(Int32Array.from(ids));
      node.dispose();
      const got = await session.experts[j]!.logProbs(ids);
      expect(got.length).toBe(expected.length);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1e-3);
      // The next-token row for a context longer than the window uses the last contextLength ids.
      const long = [tok.eosId, ...tok.encode(TEXTS.join(' '))].slice(0, 60);
      const row = await session.experts[j]!.nextLogProbs(long);
      const window = long.slice(-24);
      const model = await GptModel.load(join(runDir, 'experts', String(j)));
      const all = await model.logProbs(Int32Array.from(window));
      model.dispose();
      const V = session.tokenizer.vocabSize;
      const last = all.slice((window.length - 1) * V);
      for (let v = 0; v < V; v += 37) expect(row[v]).toBeCloseTo(last[v]!, 3);
    }
    // The web model.json is the run's model.json, byte for byte.
    const json = JSON.parse(
      await readFile(join(webDir, 'experts', '0', 'model.json'), 'utf8'),
    ) as WebGptModelJson;
    expect(json.format).toBe('cbtm-gpt');
    expect(WebGpt).toBeDefined();
  });

  it('generates the same greedy tokens, under the same routes, as Ensemble.generate', async () => {
    const run = await loadRun(runDir, { backend: 'cpu' });
    const ensemble = run.cbtm;
    try {
      for (const [prompt, topK] of [
        ['In the beginning God created', 3],
        ['Permission is hereby granted', 2],
        ['The open() system call', 1],
      ] as const) {
        const expected: { id: number; experts: number[]; weights: number[] }[] = [];
        for await (const t of ensemble.generate(prompt, {
          maxTokens: 16,
          temperature: 0,
          routing: { topK, temperature: 0.1 },
        })) {
          expected.push({ id: t.id, experts: t.experts, weights: t.weights });
        }
        const got: { id: number; experts: number[]; weights: number[] }[] = [];
        for await (const t of session.generate(prompt, {
          maxTokens: 16,
          samplingTemperature: 0,
          topK,
          temperature: 0.1,
        })) {
          got.push({ id: t.id, experts: t.route.experts, weights: t.route.weights });
        }
        expect(expected.length).toBeGreaterThan(0);
        expect(got.map((t) => t.id)).toEqual(expected.map((t) => t.id));
        expect(got.map((t) => t.experts)).toEqual(expected.map((t) => t.experts));
        for (const [i, t] of got.entries()) {
          for (const [m, w] of t.weights.entries())
            expect(w).toBeCloseTo(expected[i]!.weights[m]!, 5);
        }
      }
    } finally {
      await run.dispose();
    }
  });
});

describe('the committed demo export (docs/public/demo)', () => {
  it('loads with the runtime, routes with weights summing to 1, and generates', async () => {
    await selectBackend('cpu');
    const session = await DemoSession.load(fsReader(join(DOCS, 'public', 'demo')));
    try {
      const { manifest } = session;
      expect(manifest.experts).toHaveLength(manifest.router.k);
      expect(new Set(manifest.experts.map((e) => e.label)).size).toBe(manifest.router.k);
      expect(manifest.prompts.length).toBeGreaterThan(0);
      const route = session.routeText(manifest.prompts[0]!);
      expect(route.experts).toHaveLength(manifest.router.k);
      expect(route.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      const tokens: number[] = [];
      for await (const t of session.generate(manifest.prompts[0]!, {
        maxTokens: 6,
        samplingTemperature: 0,
      }))
        tokens.push(t.id);
      expect(tokens.length).toBeGreaterThan(0);
    } finally {
      session.dispose();
    }
  });
});
