import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The tiny generated BERT of @cbtm/embed's own tests: no real weights can be downloaded here.
import { writeTinyBertModel } from '../../embed/src/test-utils/tiny-bert.js';
import { DOCS, EXAMPLES } from './test-utils/paths.js';
import { buildExamples, runExample } from './test-utils/run-example.js';

/** Every example, with the test that runs it. Adding an example without a test fails below. */
const tested = new Set<string>();
/** What each example printed, to compare with the outputs the docs show. */
const printed = new Map<string, string>();
function example(name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  tested.add(name);
  it(`${name}.ts runs as the docs show`, fn, timeoutMs);
}

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (
      e.isFile() &&
      e.name.endsWith('.md') &&
      !e.parentPath.includes('node_modules') &&
      !e.parentPath.includes('.vitepress')
    ) {
      out.push(join(e.parentPath, e.name));
    }
  }
  return out;
}

describe('examples/', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cbtm-examples-'));
    await buildExamples(); // type-checks every example against the built packages
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  example('read-a-corpus', async () => {
    const { stdout } = await runExample('read-a-corpus');
    printed.set('read-a-corpus', stdout);
    // The demo corpus README's counts of training records per domain.
    expect(stdout.trim().split('\n')).toEqual([
      'dictionary 188',
      'legal 201',
      'manuals 196',
      'pydocs 194',
      'religion 189',
      'total 968 documents, 0 skipped',
    ]);
  });

  example('route-a-context', async () => {
    const { stdout } = await runExample('route-a-context');
    printed.set('route-a-context', stdout);
    // h = (0.8, 0.6); squared distances to (1,0), (0,1), (-1,0) are 0.4, 0.8, 3.6.
    const w = (d: number[], T: number) => {
      const e = d.map((x) => Math.exp(-(x - d[0]!) / T));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => (x / s).toFixed(3));
    };
    const fmt = (ws: string[]) => ws.map((x, j) => `${j}:${x}`).join(' ');
    expect(stdout.trim().split('\n')).toEqual([
      `topK=3 T=0.1 -> ${fmt(w([0.4, 0.8, 3.6], 0.1))}`,
      `topK=3 T=1 -> ${fmt(w([0.4, 0.8, 3.6], 1))}`,
      `topK=2 T=0.1 -> ${fmt(w([0.4, 0.8], 0.1))}`,
      'topK=1 T=0.1 -> 0:1.000',
    ]);
  });

  example(
    'train-one-expert',
    async () => {
      const out = join(tmp, 'expert');
      const { stdout } = await runExample('train-one-expert', [out]);
      printed.set('train-one-expert', stdout);
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toBe('tokenizer: 512 ids');
      expect(lines).toContain('trained 60 steps, 30720 tokens');
      const curve = /^held-out loss by step: (.*)$/m
        .exec(stdout)![1]!
        .split(', ')
        .map((p) => Number(p.split(': ')[1]));
      expect(curve).toHaveLength(3);
      // Training helps: the held-out loss ends lower than it started, and below uniform (ln 512).
      expect(curve.at(-1)!).toBeLessThan(curve[0]!);
      expect(curve.at(-1)!).toBeLessThan(Math.log(512));
      expect(stdout).toContain(`saved to ${out}`);
      const model = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
      expect(model.modelTopology.config).toMatchObject({
        vocabSize: 512,
        nLayer: 2,
        dModel: 64,
        nHead: 4,
        contextLength: 64,
      });
    },
    180_000,
  );

  example('transformers-embedder', async () => {
    const model = join(tmp, 'tiny-bert');
    await writeTinyBertModel(model, { hidden: 8 });
    const saveDir = join(tmp, 'saved-embedder');
    const { stdout } = await runExample('transformers-embedder', [model, saveDir]);
    printed.set('transformers-embedder', stdout);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('dimension 8');
    const sims = lines.slice(1, 5).map((l) =>
      l
        .replace(/^doc \d: /, '')
        .split(' ')
        .map(Number),
    );
    expect(sims).toHaveLength(4);
    for (let i = 0; i < 4; i++) {
      expect(sims[i]![i]).toBeCloseTo(1, 3); // unit vectors
      for (let j = 0; j < 4; j++) {
        expect(sims[i]![j]).toBeCloseTo(sims[j]![i]!, 3);
        expect(Math.abs(sims[i]![j]!)).toBeLessThanOrEqual(1.0005);
      }
    }
    // Documents that share words are closer than ones that share none.
    expect(sims[0]![1]!).toBeGreaterThan(sims[0]![2]!);
    expect(lines[5]).toBe('reloaded: transformers, dimension 8');
  });

  example('cluster-your-documents', async () => {
    const { stdout } = await runExample('cluster-your-documents');
    printed.set('cluster-your-documents', stdout);
    const lines = stdout.trim().split('\n');
    // Three balanced clusters of six, each holding exactly one topic's documents.
    const clusters: string[][] = [];
    for (const line of lines) {
      if (/^cluster \d \(6 documents\)$/.test(line)) clusters.push([]);
      else if (line.startsWith('  ')) clusters.at(-1)!.push(line.trim());
    }
    expect(clusters.map((c) => c.length)).toEqual([6, 6, 6]);
    const topic = (doc: string) =>
      /recipe|bake|cook|oven/i.test(doc)
        ? 'cooking'
        : /star|planet|telescope|galax/i.test(doc)
          ? 'astronomy'
          : 'code';
    for (const c of clusters) expect(new Set(c.map(topic)).size).toBe(1);
    const clusterOf = (t: ReturnType<typeof topic>) =>
      clusters.findIndex((c) => c.map(topic).includes(t));
    expect(lines).toContain(`"Bake the cake in the oven." -> cluster ${clusterOf('cooking')}`);
    expect(lines).toContain(
      `"The moon and the stars at night." -> cluster ${clusterOf('astronomy')}`,
    );
  });

  let pipelineRun = '';
  example(
    'run-pipeline',
    async () => {
      pipelineRun = join(tmp, 'pipeline-run');
      const first = await runExample('run-pipeline', [pipelineRun], 300_000);
      printed.set('run-pipeline', first.stdout);
      expect(first.stdout).toMatch(/^embed: ran$/m);
      expect(first.stdout).toMatch(/^experts: ran$/m);
      expect(first.stdout).toMatch(/^eval: ran$/m);
      const table = /Perplexity on .*\n([\s\S]*?)\n\n/.exec(first.stdout)![1]!;
      for (const method of [
        'dense',
        'c-BTM top-1',
        'c-BTM top-2',
        'c-BTM all',
        'random clusters',
      ]) {
        const row = new RegExp(`^\\s+${method.replace(/[-]/g, '\\-')}\\s+(\\d+\\.\\d+)`, 'm').exec(
          table,
        );
        expect(row, `${method} in\n${table}`).not.toBeNull();
        // Trained models beat the uniform distribution over the 512 ids.
        expect(Number(row![1])).toBeLessThan(512);
      }
      expect(first.stdout).toMatch(/Clusters: k = 3, sizes \d+ \/ \d+ \/ \d+/);
      expect(first.stdout).toContain(`Report: ${join(pipelineRun, 'report.html')}`);
      // Rerunning resumes: every stage is reused.
      const again = await runExample('run-pipeline', [pipelineRun], 120_000);
      expect(again.stdout.match(/^\w+: ran$/gm) ?? []).toEqual([]);
      expect(again.stdout).toMatch(/^experts: reused$/m);
    },
    360_000,
  );

  example('score-text', async () => {
    const { stdout } = await runExample('score-text', [pipelineRun]);
    printed.set('score-text', stdout);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${pipelineRun}: 3 experts, backend \\w+$`));
    for (const line of lines.slice(1, 3)) {
      const m = /perplexity by top-k: 1: ([\d.]+), 2: ([\d.]+), all: ([\d.]+)$/.exec(line);
      expect(m, line).not.toBeNull();
      for (const p of m!.slice(1)) expect(Number(p)).toBeGreaterThan(1);
    }
    const routes = lines.slice(3);
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) {
      const m = /^before ".*" -> experts (\d):([\d.]+) (\d):([\d.]+)$/.exec(r);
      expect(m, r).not.toBeNull();
      expect(Number(m![2]) + Number(m![4])).toBeCloseTo(1, 1); // two weights, 2 decimals each
      expect(Number(m![2])).toBeGreaterThanOrEqual(Number(m![4])); // nearest first
    }
  });

  example('generate-text', async () => {
    const { stdout } = await runExample('generate-text', [pipelineRun]);
    printed.set('generate-text', stdout);
    const [stream, whole] = stdout.split('\n\n');
    const tokens = stream!
      .split('\n')
      .map((l) => /^(".*?")\s+\[(\d):([\d.]+) (\d):([\d.]+)\]$/.exec(l));
    expect(tokens.length).toBeGreaterThan(0);
    let text = 'And God said';
    for (const m of tokens) {
      expect(m).not.toBeNull();
      text += JSON.parse(m![1]!);
    }
    expect(whole!.trim()).toBe(text.trim());
    // The same seed gives the same text.
    expect((await runExample('generate-text', [pipelineRun])).stdout).toBe(stdout);
  });

  it('tests and documents every example, and the docs include only examples that exist', async () => {
    const files = (await readdir(EXAMPLES))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3));
    expect([...tested].sort()).toEqual(files.sort());
    const included = new Set<string>();
    for (const md of await markdownFiles(DOCS)) {
      const text = await readFile(md, 'utf8');
      for (const m of text.matchAll(/^<<< @\/\.\.\/examples\/([\w-]+)\.ts/gm)) included.add(m[1]!);
    }
    expect([...included].sort()).toEqual(files.sort());
  });

  it("shows, wherever the docs quote an example's output, exactly what it printed", async () => {
    let quoted = 0;
    for (const md of await markdownFiles(DOCS)) {
      const text = await readFile(md, 'utf8');
      for (const m of text.matchAll(/<!-- output: ([\w-]+) -->\n```text\n([\s\S]*?)```/g)) {
        const name = m[1]!;
        expect(printed.has(name), `${md} quotes ${name}, which did not run`).toBe(true);
        expect(m[2]!.trim(), `${md}: quoted output of ${name}`).toBe(printed.get(name)!.trim());
        quoted += 1;
      }
    }
    expect(quoted).toBeGreaterThan(0);
  });
});
