import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from './path-exists.js';

/** A shard file name, `<j>.jsonl.gz`, with the cluster id as its first group. */
const SHARD_FILE = /^(\d+)\.jsonl\.gz$/;

/**
 * The cluster ids that have a shard (`<j>.jsonl.gz`) in `dir`, ascending; empty when `dir` does
 * not exist. Other files are ignored.
 *
 * @example
 * ```ts
 * await listShardIds('runs/a/shards'); // [0, 1, 2, 3]
 * ```
 */
export async function listShardIds(dir: string): Promise<number[]> {
  if (!(await pathExists(dir))) return [];
  return (await readdir(dir))
    .map((name) => SHARD_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * The ids of the numbered model folders (`<j>/`) in `dir`, ascending: the experts of
 * `<run>/experts/` or `<run>/random/experts/`. Empty when `dir` does not exist; files and other
 * folders are ignored. Gaps are left for the caller to judge.
 *
 * @example
 * ```ts
 * await listExpertIds('runs/a/experts'); // [0, 1, 2, 3]
 * ```
 */
export async function listExpertIds(dir: string): Promise<number[]> {
  if (!(await pathExists(dir))) return [];
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
}

/**
 * Where every file of a run directory lives: the one owner of the layout that every stage,
 * loader and queue worker reads and writes. It only computes paths (and lists shards); `RunDir`
 * owns the manifest's contents, and each file's format belongs to the package that writes it.
 *
 * ```
 * manifest.json  embedder/  clusters/  shards/<j>.jsonl.gz  tokenizer/tokenizer.json
 * seed/  experts/<j>/  dense/  random/shards/<j>.jsonl.gz  random/experts/<j>/  random/router/
 * router/  eval/results.json  report.html  train-results.json
 * ```
 *
 * @example
 * ```ts
 * const layout = new RunLayout('runs/a');
 * for (const j of await layout.shardIds()) console.log(layout.shard(j), '→', layout.expert(j));
 * ```
 */
export class RunLayout {
  /** The run directory, as given. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A path inside the run directory. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** `<run>/manifest.json`. */
  get manifest(): string {
    return this.path('manifest.json');
  }

  /** `<run>/embedder/`: the fitted embedder. */
  get embedder(): string {
    return this.path('embedder');
  }

  /** `<run>/clusters/`, or a file inside it (`clusters('metrics.json')`). */
  clusters(...parts: string[]): string {
    return this.path('clusters', ...parts);
  }

  /**
   * `<run>/clusters/added-experts.json`: the clusters and experts `cbtm add-expert` added after
   * the run's own k (their corpus, initialization and tokens).
   */
  get addedExperts(): string {
    return this.clusters('added-experts.json');
  }

  /**
   * `<run>/.cbtm/add-expert/`, or a path inside it: where `cbtm add-expert` prepares new clusters
   * and trains new experts before it moves them into the run.
   */
  addExpertWork(...parts: string[]): string {
    return this.path('.cbtm', 'add-expert', ...parts);
  }

  /** `<run>/shards/`: one `<j>.jsonl.gz` per cluster. */
  get shards(): string {
    return this.path('shards');
  }

  /** `<run>/shards/<j>.jsonl.gz`: cluster `j`'s training text. */
  shard(j: number): string {
    return join(this.shards, `${j}.jsonl.gz`);
  }

  /** The cluster ids that have a shard in `<run>/shards/`, ascending. */
  shardIds(): Promise<number[]> {
    return listShardIds(this.shards);
  }

  /** `<run>/tokenizer/tokenizer.json`: the shared tokenizer. */
  get tokenizer(): string {
    return this.path('tokenizer', 'tokenizer.json');
  }

  /** `<run>/experts/`. */
  get experts(): string {
    return this.path('experts');
  }

  /** `<run>/experts/<j>/`: the expert trained on shard `j`. */
  expert(j: number): string {
    return join(this.experts, String(j));
  }

  /** The ids of the expert folders in `<run>/experts/`, ascending. */
  expertIds(): Promise<number[]> {
    return listExpertIds(this.experts);
  }

  /** `<run>/dense/`: the dense baseline. */
  get dense(): string {
    return this.path('dense');
  }

  /** `<run>/seed/`: the shared seed model the others branch from. */
  get seed(): string {
    return this.path('seed');
  }

  /** `<run>/random/`, or a file inside it: the random-cluster baseline. */
  random(...parts: string[]): string {
    return this.path('random', ...parts);
  }

  /** `<run>/random/shards/`. */
  get randomShards(): string {
    return this.random('shards');
  }

  /** `<run>/random/shards/<j>.jsonl.gz`. */
  randomShard(j: number): string {
    return join(this.randomShards, `${j}.jsonl.gz`);
  }

  /** The random-cluster ids that have a shard in `<run>/random/shards/`, ascending. */
  randomShardIds(): Promise<number[]> {
    return listShardIds(this.randomShards);
  }

  /** `<run>/random/experts/`. */
  get randomExperts(): string {
    return this.random('experts');
  }

  /** `<run>/random/experts/<j>/`: the random-cluster expert `j`. */
  randomExpert(j: number): string {
    return join(this.randomExperts, String(j));
  }

  /** The ids of the random-cluster expert folders in `<run>/random/experts/`, ascending. */
  randomExpertIds(): Promise<number[]> {
    return listExpertIds(this.randomExperts);
  }

  /** `<run>/router/`: the router over the cluster centroids. */
  get router(): string {
    return this.path('router');
  }

  /** `<run>/eval/results.json`: perplexities per method and domain. */
  get evalResults(): string {
    return this.path('eval', 'results.json');
  }

  /** `<run>/report.html`. */
  get report(): string {
    return this.path('report.html');
  }

  /** `<run>/train-results.json`: what the last training call returned. */
  get trainResults(): string {
    return this.path('train-results.json');
  }
}
