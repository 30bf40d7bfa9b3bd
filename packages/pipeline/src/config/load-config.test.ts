import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbtmError } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configJsonSchema, loadConfig, resolveConfig } from './load-config.js';

function configErrorOf(fn: () => unknown): CbtmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CbtmError);
    expect((err as CbtmError).code).toBe('E_CONFIG_INVALID');
    return err as CbtmError;
  }
  throw new Error('expected a config error');
}

describe('resolveConfig', () => {
  it('fills every default from an empty object', () => {
    const c = resolveConfig({});
    expect(c.cluster.k).toBe(4);
    expect(c.embed.embedder).toBe('tfidf');
    expect(c.eval.topK).toEqual([1, 2, 'all']);
    expect(c.eval.temperature).toBe(0.1);
    expect(c.corpus.train).toBeNull();
    expect(c.baselines).toEqual({ dense: true, random: true });
  });

  it('resolves {} to exactly these defaults, some taken from the packages (pinned: stage hashes depend on them)', () => {
    // A package default changing under the config would silently retrain every run.
    expect(resolveConfig({})).toEqual({
      out: 'runs/demo',
      seed: 1,
      corpus: {
        train: null,
        valid: null,
        holdout: 0.05,
        textField: 'text',
        idField: 'id',
        limit: null,
        skipInvalid: false,
      },
      embed: {
        embedder: 'tfidf',
        dimension: 64,
        model: null,
        sample: null,
      },
      cluster: {
        k: 4,
        sample: null,
        iterations: 20,
        balanceSlack: 0,
        inits: 1,
      },
      tokenizer: {
        vocabSize: 2048,
        sampleBytes: 4_000_000,
      },
      model: {
        nLayer: 2,
        dModel: 128,
        nHead: 4,
        contextLength: 128,
        mlpRatio: 4,
        dropout: 0,
      },
      train: {
        tokens: 250_000,
        seedTokens: 750_000,
        seedFrom: null,
        batchSize: 8,
        expertBatchSize: null,
        learningRate: 0.003,
        warmupSteps: 20,
        branchLearningRate: null,
        branchWarmupSteps: null,
        weightDecay: 0.01,
        evalEvery: 25,
        evalTokens: 4096,
        checkpointEvery: 50,
        workers: 2,
        seedThreads: 2,
        backend: 'auto',
      },
      baselines: {
        dense: true,
        random: true,
      },
      router: {
        kind: 'hnsw',
      },
      eval: {
        topK: [1, 2, 'all'],
        temperature: 0.1,
        maxDocs: null,
        maxTokensPerDoc: 256,
      },
      report: {
        enabled: true,
        maxPoints: 3000,
      },
    });
  });

  it('is idempotent on a resolved config', () => {
    const c = resolveConfig({ cluster: { k: 7 }, eval: { topK: [3] } });
    expect(resolveConfig(c)).toEqual(c);
  });

  it('names the field, the allowed values and the given value', () => {
    expect(configErrorOf(() => resolveConfig({ cluster: { k: 0 } })).message).toBe(
      'Invalid config: field "cluster.k" must be an integer ≥ 1, got 0.',
    );
    expect(configErrorOf(() => resolveConfig({ embed: { embedder: 'bert' } })).message).toBe(
      'Invalid config: field "embed.embedder" must be one of "tfidf", "transformers", got "bert".',
    );
    expect(configErrorOf(() => resolveConfig({ train: { backend: 'tpu' } })).message).toBe(
      'Invalid config: field "train.backend" must be one of "auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu", got "tpu".',
    );
    expect(configErrorOf(() => resolveConfig({ eval: { topK: [0] } })).message).toBe(
      'Invalid config: field "eval.topK[0]" must be an integer ≥ 1 or "all", got 0.',
    );
    expect(configErrorOf(() => resolveConfig({ eval: { temperature: -1 } })).message).toBe(
      'Invalid config: field "eval.temperature" must be a number > 0, got -1.',
    );
    expect(configErrorOf(() => resolveConfig({ corpus: { train: 3 } })).message).toBe(
      'Invalid config: field "corpus.train" must be a non-empty string or null, got 3.',
    );
    expect(configErrorOf(() => resolveConfig({ baselines: { dense: 'yes' } })).message).toBe(
      'Invalid config: field "baselines.dense" must be true or false, got "yes".',
    );
  });

  it('lists the allowed fields for an unknown one', () => {
    expect(configErrorOf(() => resolveConfig({ cluster: { kk: 3 } })).message).toBe(
      'Invalid config: unknown field "cluster.kk"; allowed fields of "cluster": k, sample, iterations, balanceSlack, inits.',
    );
    expect(configErrorOf(() => resolveConfig({ clusters: {} })).message).toMatch(
      /^Invalid config: unknown field "clusters"; allowed fields: out, seed, corpus, embed, cluster, tokenizer, model, train, baselines, router, eval, report\.$/,
    );
  });

  it('checks cross-field rules', () => {
    expect(configErrorOf(() => resolveConfig({ model: { dModel: 100, nHead: 3 } })).message).toBe(
      'Invalid config: field "model.dModel" must have dModel divisible by nHead.',
    );
  });

  it('reports every bad field in one line', () => {
    const message = configErrorOf(() => resolveConfig({ cluster: { k: -1 }, seed: 1.5 })).message;
    expect(message).toBe(
      'Invalid config: field "seed" must be an integer ≥ 0, got 1.5; field "cluster.k" must be an integer ≥ 1, got -1.',
    );
    expect(message).not.toContain('\n');
  });

  it('applies flags over the file and names the flag in errors', () => {
    const c = resolveConfig(
      { cluster: { k: 3 }, out: 'a' },
      { overrides: [{ path: ['cluster', 'k'], value: 9, flag: '--k' }] },
    );
    expect(c.cluster.k).toBe(9);
    expect(c.out).toBe('a');
    expect(
      configErrorOf(() =>
        resolveConfig(
          {},
          { source: 'x.json', overrides: [{ path: ['cluster', 'k'], value: 'many', flag: '--k' }] },
        ),
      ).message,
    ).toBe('Invalid config: --k: field "cluster.k" must be an integer ≥ 1, got "many".');
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbtm-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses defaults when there is no config file, with out resolved against cwd', async () => {
    const { config, file } = await loadConfig({ cwd: dir });
    expect(file).toBeNull();
    expect(config.out).toBe(join(dir, 'runs/demo'));
  });

  it('finds cbtm.config.json, resolves its paths against its folder, and lets flags override', async () => {
    const sub = join(dir, 'project');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
    await writeFile(
      join(sub, 'cbtm.config.json'),
      JSON.stringify({
        out: 'runs/x',
        corpus: { train: 'data/train.jsonl' },
        cluster: { k: 6 },
        seed: 5,
      }),
    );
    const { config, file } = await loadConfig({ cwd: sub });
    expect(file).toBe(join(sub, 'cbtm.config.json'));
    expect(config.out).toBe(join(sub, 'runs/x'));
    expect(config.corpus.train).toBe(join(sub, 'data/train.jsonl'));
    expect(config.cluster.k).toBe(6);
    const flagged = await loadConfig({
      cwd: sub,
      overrides: [
        { path: ['cluster', 'k'], value: 2, flag: '--k' },
        { path: ['out'], value: 'elsewhere', flag: '--out' },
      ],
    });
    expect(flagged.config.cluster.k).toBe(2);
    expect(flagged.config.out).toBe(join(sub, 'elsewhere'));
    expect(flagged.config.seed).toBe(5);
  });

  it('loads a .mjs config exporting defineConfig(...)', async () => {
    const file = join(dir, 'my.config.mjs');
    await writeFile(file, 'export default { cluster: { k: 5 }, train: { workers: 1 } };\n');
    const { config } = await loadConfig({ file, cwd: dir });
    expect(config.cluster.k).toBe(5);
    expect(config.train.workers).toBe(1);
  });

  it('rejects a config file that is not a JSON object, with or without flags', async () => {
    for (const [name, text, got] of [
      ['array.json', '[1,2]', 'an array'],
      ['null.json', 'null', 'null'],
      ['number.json', '42', 'number'],
      ['string.json', '"k=8"', 'string'],
    ] as const) {
      const file = join(dir, name);
      await writeFile(file, text);
      const message = `Invalid config ${file}: expected a JSON object`;
      await expect(loadConfig({ file, cwd: dir })).rejects.toThrow(message);
      const err = await loadConfig({
        file,
        cwd: dir,
        overrides: [{ path: ['cluster', 'k'], value: 2, flag: '--k' }],
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_CONFIG_INVALID' });
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).toContain(`got ${got}`);
    }
  });

  it('gives one-line errors for malformed, missing and invalid files', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "cluster": { "k": 3, } }');
    await expect(loadConfig({ file: bad, cwd: dir })).rejects.toThrow(
      /^.*bad\.json is not valid JSON: .*Fix the syntax\.$/,
    );
    await expect(loadConfig({ file: join(dir, 'nope.json'), cwd: dir })).rejects.toThrow(
      /Config file not found: .*nope\.json/,
    );
    const invalid = join(dir, 'invalid.json');
    await writeFile(invalid, JSON.stringify({ cluster: { k: 'four' } }));
    await expect(loadConfig({ file: invalid, cwd: dir })).rejects.toThrow(
      `Invalid config ${invalid}: field "cluster.k" must be an integer ≥ 1, got "four".`,
    );
  });
});

describe('cbtm.config.schema.json', () => {
  it('is up to date with the zod schema (regenerate: npm run schema -w @cbtm/pipeline)', async () => {
    const committed = JSON.parse(
      await readFile(new URL('../../cbtm.config.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes defaults and allowed values for editors', () => {
    const schema = configJsonSchema() as {
      properties: Record<
        string,
        { properties: Record<string, { default?: unknown; enum?: unknown[] }> }
      >;
    };
    expect(schema.properties.cluster!.properties.k!.default).toBe(4);
    expect(schema.properties.embed!.properties.embedder!.enum).toEqual(['tfidf', 'transformers']);
  });
});
