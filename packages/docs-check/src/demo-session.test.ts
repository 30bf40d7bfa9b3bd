// The demo page (docs/.vitepress/demo/session.ts) builds a c-BTM ensemble from the packages'
// pure entries and the files `cbtm export-web` writes. These tests load an export over HTTP as
// the page does and check it against a run opened in Node.js with loadRun.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEmbedder } from '@cbtm/embed/node';
import { loadRun } from '@cbtm/ensemble/node';
import { selectBackend } from '@cbtm/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoSession } from '../../../docs/.vitepress/demo/session.js';
import { makeTinyRun } from '../../pipeline/src/export-web/test-utils/tiny-run.js';
import { exportWeb } from './test-utils/export-web.js';
import { DOCS } from './test-utils/paths.js';
import { type StaticSite, serveStatic } from './test-utils/static-server.js';

const TEXTS = [
  'In the beginning God created the heaven and the earth.',
  'Permission is hereby granted, free of charge, to any person obtaining a copy',
  'naïve café — 🙂 emoji, ÆØÅ, 1984 numbers and a tab\tand\nnewlines   spaces ',
  "don't stop-words it's THE end!!! 3rd 2nd ²nd",
];

describe('the demo session on an exported run', () => {
  let tmp: string;
  let runDir: string;
  let site: StaticSite;
  let session: DemoSession;

  beforeAll(async () => {
    await selectBackend('cpu');
    tmp = await mkdtemp(join(tmpdir(), 'cbtm-demo-session-'));
    runDir = await makeTinyRun(join(tmp, 'run'));
    await exportWeb(runDir, join(tmp, 'web'), { prompts: ['In the beginning'] });
    site = await serveStatic(join(tmp, 'web'));
    session = await DemoSession.load(`${site.url}/`);
  });
  afterAll(async () => {
    session?.dispose();
    await site?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("embeds like the run's fitted TfidfSvdEmbedder (the export's per-term rows)", async () => {
    const node = await loadEmbedder(join(runDir, 'embedder'));
    for (const text of TEXTS) {
      const a = await node.embedText(text);
      const b = await session.embedder.embedText(text);
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    }
  });

  it('generates the same greedy tokens, under the same routes, as the run loaded with loadRun', async () => {
    const run = await loadRun(runDir, { backend: 'cpu' });
    try {
      for (const [prompt, topK] of [
        ['In the beginning God created', 3],
        ['The open() system call', 1],
      ] as const) {
        const expected: { id: number; experts: readonly number[]; weights: readonly number[] }[] =
          [];
        for await (const t of run.cbtm.generate(prompt, {
          maxTokens: 12,
          temperature: 0,
          routing: { topK, temperature: 0.1 },
        }))
          expected.push({ id: t.id, experts: t.experts, weights: t.weights });
        const got: typeof expected = [];
        for await (const t of session.generate(prompt, {
          maxTokens: 12,
          samplingTemperature: 0,
          topK,
          temperature: 0.1,
        }))
          got.push({ id: t.id, experts: t.route.experts, weights: t.route.weights });
        expect(expected.length).toBeGreaterThan(0);
        expect(got.map((t) => t.id)).toEqual(expected.map((t) => t.id));
        expect(got.map((t) => t.experts)).toEqual(expected.map((t) => t.experts));
        for (const [i, t] of got.entries())
          for (const [m, w] of t.weights.entries())
            expect(w).toBeCloseTo(expected[i]!.weights[m]!, 5);
      }
    } finally {
      await run.dispose();
    }
  });
});

describe('the committed demo export (docs/public/demo)', () => {
  it('loads, routes with weights summing to 1, and generates', async () => {
    await selectBackend('cpu');
    const site = await serveStatic(join(DOCS, 'public', 'demo'));
    const session = await DemoSession.load(`${site.url}/`);
    try {
      const { manifest } = session;
      expect(manifest.experts).toHaveLength(manifest.router.k);
      expect(manifest.prompts.length).toBeGreaterThan(0);
      const route = session.routeText(manifest.prompts[0]!);
      expect(route.experts).toHaveLength(manifest.router.k);
      expect(route.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      const tokens: number[] = [];
      for await (const t of session.generate(manifest.prompts[0]!, {
        maxTokens: 6,
        samplingTemperature: 0,
      }))
        tokens.push(t.id);
      expect(tokens.length).toBeGreaterThan(0);
    } finally {
      session.dispose();
      await site.close();
    }
  });
});
