import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.js';
import type { CbtmConfigInput } from '../config/schema.js';
import { stageContext } from '../run-pipeline.js';
import { STAGES } from './all-stages.js';
import { planStage, type StageName } from './stage.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-stage-hashes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The config hash of every stage up to the router, for a config on the demo corpus, in a fresh
 * run (planning only, nothing runs). The eval and report stages also hash the trained models'
 * checksums, which only a real run has.
 */
async function stageHashes(input: CbtmConfigInput): Promise<Partial<Record<StageName, string>>> {
  const config = resolveConfig({ ...input, out: join(dir, String(Math.random())) });
  const run = await RunDir.openOrCreate(config.out, { config });
  const ctx = await stageContext(run, config);
  const out: Partial<Record<StageName, string>> = {};
  for (const def of STAGES) {
    const { hash } = await planStage(def, ctx);
    if (def.name !== 'eval' && def.name !== 'report') out[def.name] = hash;
  }
  return out;
}

// Existing runs are reused only while these stay the same: a change here reruns (and, for the
// training stages, retrains) every user's and every experiment's run. The values were taken
// from runs made before the stages called @cbtm/cluster for their math.
describe('stage config hashes', () => {
  it('are stable for the defaults with a few changes', async () => {
    expect(await stageHashes({ embed: { dimension: 24 }, cluster: { k: 5 }, seed: 3 })).toEqual({
      embed: 'e451d290d2f9abc56ecee422e45093e78890f7b24fdc6d6c2ef4686dc2225aaf',
      cluster: '633767449092cbb2f1e15802110317c7c2b271993c8af874f5b9280f11a17bd3',
      shard: '647a2e0541a39c8ca878e9a0b96588c3cdce0b500bd9c7f4a2db12398dbaee6a',
      tokenizer: '9660130aa2f2dbdf496bb4e72fd8930ff400a2e8615c9b5c51023a9c10da83c7',
      seed: 'd736900cf5c884e8a89660ddfe74e2ce3a9f39e2c5c9ac9633469980bbc37cef',
      experts: '4246c9ab7ff0e35238e6e9f5dd82bb9afc3601f8b7e78e595c9967c397371fca',
      dense: '4246c9ab7ff0e35238e6e9f5dd82bb9afc3601f8b7e78e595c9967c397371fca',
      random: '8300aad8630cdcbeeb31f4f6471fdd879df505da60da7acc6845e85b8ee52b23',
      router: '6aafab63f53ccc1b39d49875c28b6fc7b548df5b6d048dd4432f7e0975ad09e3',
    });
  });

  it('are stable for a sampled, slack fit on part of the corpus', async () => {
    expect(
      await stageHashes({
        corpus: { limit: 150 },
        embed: { dimension: 12 },
        cluster: { k: 3, sample: 60, balanceSlack: 0.1 },
      }),
    ).toEqual({
      embed: '7d4c8ffc154bb6e11760f3993b22c8ad71f18e8a738846452eb01655a852d611',
      cluster: '23c6495de5ac4c13b38c9123bd8bdd29bb239f56a7863e9b93ceb97eab66ebd8',
      shard: '23d3a760e612e8e3e0043494afe95aab767baf910d439c0a808b8320d2e58bd8',
      tokenizer: '36617382e4298f890c23b1fd37d15972b77b336651c0f2bec95beb3c3bf5201c',
      seed: 'ea9c2e0853e8ad9ebc8d2693b74e46ced803b1f4c25c22ad84084709df975376',
      experts: 'd2f5e987d944d5ebd35ac8e9b0d2d1b988679e65aad86acaf2951ec308f97175',
      dense: 'd2f5e987d944d5ebd35ac8e9b0d2d1b988679e65aad86acaf2951ec308f97175',
      random: 'b88e2ecbea9473faf2f5389c3bc5b354e5c74c68e9e6684c84f990706e7ac52a',
      router: 'd9462629ce9ce933aeb1cc00522cbadb99a9cd364235b33aba4556afd317c53a',
    });
  });

  it("change for the seed and what branches from it with the seed's thread count", async () => {
    const base = await stageHashes({ embed: { dimension: 24 }, cluster: { k: 5 }, seed: 3 });
    const same = await stageHashes({
      embed: { dimension: 24 },
      cluster: { k: 5 },
      seed: 3,
      train: { seedThreads: 2 },
    });
    expect(same).toEqual(base);
    const two = await stageHashes({
      embed: { dimension: 24 },
      cluster: { k: 5 },
      seed: 3,
      train: { seedThreads: 1 },
    });
    const changed = (Object.keys(base) as (keyof typeof base)[]).filter((s) => base[s] !== two[s]);
    expect(changed).toEqual(['seed', 'experts', 'dense', 'random']);
  });

  it('are stable with the branch and compute-matching settings', async () => {
    const hashes = await stageHashes({
      train: {
        branchLearningRate: 0.001,
        branchWarmupSteps: 5,
        expertBatchSize: 2,
        learningRate: 0.002,
        workers: 3,
      },
      baselines: { dense: false, random: true },
      eval: { topK: [1, 'all'], temperature: 0.2 },
    });
    expect(hashes).toEqual({
      embed: 'c15366c817f005ac83a30c319839f8e24c72ccaeda2b6b02001ae3d5efe7d231',
      cluster: '1539e7f410a5d66c0a8ddd08c492ea1224c47674e7d65fe1249f2506e498ee2c',
      shard: 'fca3feb597b0f018cc856b3acd2acafca27ae831fdb9c26e0f66f5be283bc351',
      tokenizer: '8195d9937cf9418004ae1d2bd6372c356b5af05674f04ed7977d6b33f36b4836',
      seed: '30be7bb892fda307e0e6b01f2838f7800cceac0d96b9de3162120dd997f67596',
      experts: '5891954ad08577a82e2b18df8a042e264b13b5ca66b7752eba75bce9e3a4104c',
      // Disabled: no hash.
      dense: '',
      random: '2e9d5897c58f1ede0488479121e3c64f43b96da646195e0262c3410d3e969558',
      router: '9625c64a1ff4712831133a9be3a3793e3e6c24c4975ebfe0ff622db679687237',
    });
  });

  it('hash a seed given by folder (train.seedFrom) by its content, not its path', async () => {
    const seed = join(dir, 'somewhere', 'seed-model');
    await mkdir(seed, { recursive: true });
    await writeFile(join(seed, 'model.json'), 'model-json-content');
    await writeFile(join(seed, 'group1-shard1of1.bin'), 'weights-content');
    const hashes = await stageHashes({ train: { seedFrom: seed, tokens: 100_000 } });
    expect(hashes).toMatchObject({
      seed: '',
      experts: 'd005874b36b5fc7b96372e764334609d23ebbdab3a33121f31c427bb53cbec8a',
      dense: 'd005874b36b5fc7b96372e764334609d23ebbdab3a33121f31c427bb53cbec8a',
      random: '60edeb9f9166534e879f6bc6dfee15662bcf1ba1d0a07fe1c0bb0d2e3bcfa44e',
    });
    await writeFile(join(seed, 'group1-shard1of1.bin'), 'other weights');
    expect((await stageHashes({ train: { seedFrom: seed, tokens: 100_000 } })).experts).not.toBe(
      hashes.experts,
    );
  });
});
