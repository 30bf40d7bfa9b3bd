import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunLayout } from '@cbtm/core/node';
import { BpeTokenizer, GptModel, readHfCheckpoint } from '@cbtm/train/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { tinyConfig } from '../test-utils/tiny-config.js';

// The steps of docs/interop.md on a tiny run: train, export an expert and the dense baseline,
// load them with transformers.js from local files, compare with cbtm's own forward pass.
const PROMPT = 'And God said';
let root: string;
let runDir: string;

async function cli(...argv: string[]) {
  const ctx = captureContext(root);
  await runCli(argv, ctx);
  return ctx;
}

/** cbtm's greedy continuation of `prompt` with the model in `dir`. */
async function cbtmGreedy(dir: string, tok: BpeTokenizer, prompt: number[], maxNew: number) {
  const model = await GptModel.load(dir);
  try {
    const ids = [...prompt];
    const V = model.config.vocabSize;
    for (let n = 0; n < maxNew; n++) {
      const lp = await model.logProbs(Int32Array.from(ids));
      const row = lp.subarray((ids.length - 1) * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
      ids.push(best);
      if (best === tok.eosId) break;
    }
    return ids;
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-export-hf-'));
  runDir = join(root, 'run');
  await runPipeline(
    tinyConfig(runDir, {
      baselines: { dense: true, random: false },
      report: { enabled: false },
    }),
  );
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('cbtm export-hf', () => {
  it('exports an expert and the dense baseline that transformers.js generates with, as cbtm does', async () => {
    const expert = await cli(
      'export-hf',
      '--run',
      runDir,
      '--expert',
      '1',
      '--out',
      'exports/expert-1',
    );
    expect(expert.out().trim()).toBe(join(root, 'exports', 'expert-1'));
    expect(expert.err()).toContain('Exported expert 1 of');
    await cli('export-hf', '--run', runDir, '--dense', '--out', 'exports/dense');
    await cli('export-hf', '--run', runDir, '--seed', '--out', 'exports/seed');
    const seed = await GptModel.load(new RunLayout(runDir).seed);
    const exported = await readHfCheckpoint(join(root, 'exports', 'seed'));
    expect(exported.config).toEqual(seed.config);
    expect(exported.weights).toEqual(seed.getWeights());
    seed.dispose();
    expect((await readdir(join(root, 'exports', 'dense'))).sort()).toEqual([
      'cbtm-hf-export.json',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);

    const { env, pipeline } = await import('@huggingface/transformers');
    const saved = { allow: env.allowRemoteModels, path: env.localModelPath };
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const layout = new RunLayout(runDir);
    const tok = await BpeTokenizer.load(layout.tokenizer);
    try {
      for (const [name, dir] of [
        ['exports/expert-1', layout.expert(1)],
        ['exports/dense', layout.dense],
      ] as const) {
        const generator = await pipeline('text-generation', name);
        try {
          const [result] = (await generator(PROMPT, {
            max_new_tokens: 12,
            do_sample: false,
          })) as { generated_text: string }[];
          const ours = await cbtmGreedy(dir, tok, tok.encode(PROMPT), 12);
          expect(ours.length, name).toBeGreaterThan(tok.encode(PROMPT).length);
          expect(result!.generated_text, name).toBe(
            tok.decode(ours.filter((id) => !tok.isSpecial(id))),
          );
        } finally {
          await generator.dispose();
        }
      }
    } finally {
      env.allowRemoteModels = saved.allow;
      env.localModelPath = saved.path;
    }
  }, 120_000);

  it('refuses a folder inside the run, a foreign non-empty folder, and two models at once', async () => {
    await expect(
      cli('export-hf', '--run', runDir, '--expert', '0', '--out', join(runDir, 'hf')),
    ).rejects.toThrow('is inside the run directory');
    const foreign = join(root, 'mine');
    await mkdir(foreign);
    await writeFile(join(foreign, 'a.txt'), 'keep');
    await expect(
      cli('export-hf', '--run', runDir, '--expert', '0', '--out', foreign),
    ).rejects.toThrow('is not empty and was not written by an export');
    await expect(
      cli('export-hf', '--run', runDir, '--expert', '0', '--dense', '--out', 'x'),
    ).rejects.toThrow(/cannot be used with option '--dense'/);
    await expect(cli('export-hf', '--run', runDir, '--out', 'x')).rejects.toThrow(
      'Give exactly one model to export',
    );
    await expect(cli('export-hf', '--run', runDir, '--expert', '7', '--out', 'x')).rejects.toThrow(
      'expert 7 is not in',
    );
  });
});
