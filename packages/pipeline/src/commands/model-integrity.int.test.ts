import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopK } from '../config/schema.js';
import type { EvalResults } from '../results.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { runBin } from '../test-utils/spawn-cli.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { serveCommand } from './serve.js';

let root: string;
let runDir: string;

async function weightsFile(j: number): Promise<string> {
  const dir = join(runDir, 'experts', String(j));
  const model = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[] }[];
  };
  return join(dir, model.weightsManifest[0]!.paths[0]!);
}

/** What retraining an expert leaves: new weights, and the experts stage recorded again. */
async function recordExperts(): Promise<void> {
  const run = await RunDir.open(runDir);
  const record = run.stage('experts')!;
  await run.markStageDone('experts', {
    config: record.config,
    outputs: Object.keys(record.outputs),
    ...(record.info ? { info: { ...record.info } } : {}),
  });
}

async function evalJson(flags: { topK?: readonly TopK[] } = {}): Promise<EvalResults> {
  const ctx = captureContext(root);
  await evalCommand({ run: runDir, json: true, ...flags }, ctx);
  return JSON.parse(ctx.out()) as EvalResults;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-integrity-'));
  runDir = join(root, 'run');
  await runPipeline(
    tinyConfig(runDir, { baselines: { dense: false, random: false }, report: { enabled: false } }),
  );
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('eval, generate and serve trust only the models the manifest recorded', () => {
  it('cbtm eval scores a retrained expert again instead of answering from its cache', async () => {
    const before = await evalJson();
    const beforeTop1 = await evalJson({ topK: [1] });
    // "Retrain" expert 0: give it expert 1's weights (same size), and record the stage again.
    const [w0, w1] = [await weightsFile(0), await weightsFile(1)];
    const original = await readFile(w0);
    await writeFile(w0, await readFile(w1));
    await recordExperts();
    const after = await evalJson();
    const afterTop1 = await evalJson({ topK: [1] });
    expect(after.methods['cbtm-top1']!.perplexity).not.toBe(
      before.methods['cbtm-top1']!.perplexity,
    );
    expect(afterTop1.methods['cbtm-top1']!.perplexity).not.toBe(
      beforeTop1.methods['cbtm-top1']!.perplexity,
    );
    // Back to the first weights: the first cached result is valid again, and is reused.
    await writeFile(w0, original);
    await recordExperts();
    const again = await evalJson({ topK: [1] });
    expect(again.createdAt).toBe(beforeTop1.createdAt);
  });

  it('refuses expert files that no longer match the manifest checksums, with a non-zero exit', async () => {
    const w0 = await weightsFile(0);
    const original = await readFile(w0);
    const changed = Buffer.from(original);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff; // same size
    await writeFile(w0, changed);
    try {
      const checksum = /experts does not match its checksum in manifest\.json/;
      await expect(evalJson({ topK: [1] })).rejects.toThrow(checksum);
      await expect(
        generateCommand(
          { run: runDir, prompt: 'The', maxTokens: 2, seed: 1 },
          captureContext(root),
        ),
      ).rejects.toThrow(checksum);
      await expect(serveCommand({ run: runDir, port: 0 }, captureContext(root))).rejects.toThrow(
        checksum,
      );
      const cli = await runBin(['eval', '--run', runDir, '--top-k', '1']);
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(checksum);
    } finally {
      await writeFile(w0, original);
    }
  });

  it('a model whose weights hold NaN is an error with a non-zero exit, not a perplexity win', async () => {
    const w0 = await weightsFile(0);
    const original = await readFile(w0);
    const nan = Buffer.alloc(original.length);
    for (let i = 0; i + 4 <= nan.length; i += 4) nan.writeFloatLE(Number.NaN, i);
    await writeFile(w0, nan);
    await recordExperts();
    try {
      await expect(evalJson({ topK: [1, 'all'] })).rejects.toMatchObject({
        code: 'E_MODEL',
        message: expect.stringMatching(/Perplexity is not a finite number \(c-BTM/),
      });
      const cli = await runBin(['eval', '--run', runDir]);
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain('not a finite number');
      expect(cli.stdout).not.toContain('-100.0%');
    } finally {
      await writeFile(w0, original);
      await recordExperts();
    }
  });
});
