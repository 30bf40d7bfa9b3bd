import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.js';
import { openRun, runStages, stageContext } from '../run-pipeline.js';
import { collectReportData, readAssignments } from './collect-report-data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readAssignments', () => {
  it('reads the training documents’ clusters in order and leaves the hold-out out', async () => {
    const file = join(dir, 'assignments.jsonl');
    await writeFile(
      file,
      [
        '{"id":"a","cluster":2}',
        '{"id":"b","cluster":0}',
        '',
        '{"id":"c","cluster":1}',
        '{"id":"v1","cluster":0,"heldOut":true}',
        '{"id":"v2","cluster":2,"heldOut":true}',
      ].join('\n'),
    );
    // The map pairs these with the embeddings' rows, so the hold-out must not be counted.
    expect(Array.from(await readAssignments(file))).toEqual([2, 0, 1]);
  });
});

describe('collectReportData', () => {
  it('draws the clusters of a run with a validation hold-out as the shard stage measured them', async () => {
    const corpus = join(dir, 'train.jsonl');
    const lines: string[] = [];
    for await (const doc of readCorpus(demoCorpusPaths().train, { limit: 150 }))
      lines.push(JSON.stringify({ id: doc.id, text: doc.text, domain: doc.domain }));
    await writeFile(corpus, `${lines.join('\n')}\n`);
    const config = resolveConfig({
      out: join(dir, 'run'),
      corpus: { train: corpus, holdout: 0.1 },
      embed: { dimension: 8 },
      cluster: { k: 3 },
    });
    const run = await openRun(config);
    await runStages(await stageContext(run, config), ['embed', 'cluster', 'shard']);
    const heldOut = run.stage('shard')!.info!.heldOut as number;
    expect(heldOut).toBeGreaterThan(0);

    const data = await collectReportData(run, { maxPoints: 1000 });
    const metrics = JSON.parse(await readFile(join(run.dir, 'clusters', 'metrics.json'), 'utf8'));
    expect(data.clusterSizes).toEqual(metrics.sizes);
    expect(data.contingency).toEqual({
      domains: metrics.labels.classes,
      counts: metrics.labels.contingency,
    });
    expect(data.embeddingMap?.total).toBe(150 - heldOut);
    expect(data.embeddingMap?.points).toHaveLength(150 - heldOut);
  }, 60_000);
});
