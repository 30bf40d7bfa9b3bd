import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Document,
  demoCorpusPaths,
  pathExists,
  RunDir,
  readCorpus,
  readJsonFile,
} from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.js';
import { corpusSource } from '../corpus-source.js';
import { captureContext } from '../test-utils/capture-context.js';
import { clusterCommand } from './cluster.js';

let root: string;
let corpus: string;
let broken: string;
let config: string;
let docs: Document[];

async function assignments(runDir: string) {
  const text = await readFile(join(runDir, 'clusters', 'assignments.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; cluster: number; heldOut?: boolean });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-cluster-cmd-'));
  docs = await readCorpus(demoCorpusPaths().train, { limit: 150 }).toArray();
  const lines = docs.map((d) => JSON.stringify({ id: d.id, text: d.text, domain: d.domain }));
  corpus = join(root, 'corpus.jsonl');
  await writeFile(corpus, `${lines.join('\n')}\n`);
  // Line 100 is cut short: a read that stops at bad records fails deep into the corpus.
  broken = join(root, 'broken.jsonl');
  await writeFile(
    broken,
    `${[...lines.slice(0, 99), lines[99]!.slice(0, 30), ...lines.slice(100)].join('\n')}\n`,
  );
  config = join(root, 'cbtm.config.json');
  await writeFile(config, JSON.stringify({ embed: { dimension: 8 }, seed: 3 }));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('cbtm cluster', () => {
  it('assigns every document of the corpus, the validation hold-out too (marked)', async () => {
    const ctx = captureContext(root);
    await clusterCommand({ config, corpus, k: 2, out: 'run-a' }, ctx);
    const runDir = join(root, 'run-a');
    const rows = await assignments(runDir);
    expect(rows.map((r) => r.id).sort()).toEqual(docs.map((d) => d.id).sort());
    expect(rows.every((r) => r.cluster === 0 || r.cluster === 1)).toBe(true);
    // The marked ones are exactly the documents eval holds out.
    const held = [];
    const source = corpusSource(
      resolveConfig(
        { corpus: { train: corpus }, embed: { dimension: 8 }, seed: 3 },
        { source: 'test' },
      ),
    );
    for await (const doc of source.validDocs()) held.push(doc.id);
    expect(held.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.heldOut === true).map((r) => r.id)).toEqual(held);
    expect(rows.filter((r) => r.heldOut !== undefined)).toHaveLength(held.length);
    // Training documents alone are in the shards and the cluster sizes.
    const metrics = await readJsonFile<{ sizes: number[] }>(
      join(runDir, 'clusters', 'metrics.json'),
    );
    expect(metrics.sizes.reduce((a, b) => a + b, 0)).toBe(docs.length - held.length);
    expect(ctx.out()).toContain(`The ${held.length} documents held out for validation`);
  });

  it('leaves no stub run folder behind when it fails on a bad record', async () => {
    const ctx = captureContext(root);
    await expect(
      clusterCommand({ config, corpus: broken, k: 2, out: 'run-b' }, ctx),
    ).rejects.toMatchObject({
      code: 'E_CORPUS_INVALID',
      message: expect.stringContaining(':100:'),
    });
    expect(await pathExists(join(root, 'run-b'))).toBe(false);
    // A run that already existed is kept.
    await RunDir.create(join(root, 'run-c'));
    await expect(
      clusterCommand({ config, corpus: broken, k: 2, out: 'run-c' }, captureContext(root)),
    ).rejects.toMatchObject({ code: 'E_CORPUS_INVALID' });
    expect(await pathExists(join(root, 'run-c', 'manifest.json'))).toBe(true);
  });

  it('--skip-invalid skips bad records and says how many and where', async () => {
    const ctx = captureContext(root);
    await clusterCommand({ config, corpus: broken, k: 2, out: 'run-d', skipInvalid: true }, ctx);
    const runDir = join(root, 'run-d');
    expect(ctx.err()).toMatch(
      new RegExp(
        `skipped 1 invalid record of ${broken} \\((malformed-json|truncated)[^)]*\\): ${broken}:100: `,
      ),
    );
    const run = await RunDir.open(runDir);
    expect(run.stage('embed')?.info?.skipped).toMatchObject({ count: 1 });
    expect(run.manifest.config).toMatchObject({ corpus: { skipInvalid: true } });
    const rows = await assignments(runDir);
    expect(rows).toHaveLength(docs.length - 1);
  });
});
