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
      seed: '4e3b59c86692493bd4df28f68b903e8867f96bf2e233c20c2f2f545e1d38361f',
      experts: '5a6a7cc183d73033c1be884e061653ed5d1df24be71a68df6cf88aaae2c2e23f',
      dense: '5a6a7cc183d73033c1be884e061653ed5d1df24be71a68df6cf88aaae2c2e23f',
      random: '4d76e2e6a7882f60632a324568e2ff26011559434f9a0d748abac2e8bc711e00',
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
      seed: '2fabfed3df594e258a3387588368b07445d188a155d6fc9698e685ff5afeae86',
      experts: '1d1be4a2b481afb7ea0311d6b92a5c14dad591876f7a6c0c2d82aa14bc1f6925',
      dense: '1d1be4a2b481afb7ea0311d6b92a5c14dad591876f7a6c0c2d82aa14bc1f6925',
      random: '3e468073666d25b3294d6bcc2eb9d4990c9015ea73c734a41249d150fd658c44',
      router: 'd9462629ce9ce933aeb1cc00522cbadb99a9cd364235b33aba4556afd317c53a',
    });
  });

  it('change for the seed and what branches from it when the seed trains on 2 threads', async () => {
    const base = await stageHashes({ embed: { dimension: 24 }, cluster: { k: 5 }, seed: 3 });
    const same = await stageHashes({
      embed: { dimension: 24 },
      cluster: { k: 5 },
      seed: 3,
      train: { seedThreads: 1 },
    });
    expect(same).toEqual(base);
    const two = await stageHashes({
      embed: { dimension: 24 },
      cluster: { k: 5 },
      seed: 3,
      train: { seedThreads: 2 },
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
      seed: '79dc55936a1b9804afc92a3b8e20f6ac904ea1f757e661b1179d0c09df42d1ac',
      experts: '21719ce8fd76615b637429b88bd748d62468839756075b347492fdeef76a7a72',
      // Disabled: no hash.
      dense: '',
      random: '9ceb9dad9e427972b3b7bf90526c86f6c291b42e80b48bea2209b2221a33eb0f',
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
