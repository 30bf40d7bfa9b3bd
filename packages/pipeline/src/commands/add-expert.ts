import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ClusterMetrics } from '@cbtm/cluster';
import {
  CbtmError,
  deriveSeed,
  hashConfig,
  InvalidArgumentError,
  pathExists,
  type RunDir,
  RunLayout,
  readCorpus,
  readJsonFile,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import type { CbtmConfig } from '../config/schema.js';
import { checkCorpusPath, corpusFingerprint, corpusSource } from '../corpus-source.js';
import { verifyModelFiles } from '../model-files.js';
import type { ProgressRenderer } from '../progress/terminal-renderer.js';
import { formatResultsTable } from '../results.js';
import { runStages, stageContext } from '../run-pipeline.js';
import { clusterTopTerms } from '../stages/cluster.js';
import type { ClusterMetricsFile } from '../stages/cluster-files.js';
import { runTrainOptions } from '../stages/training.js';
import { openExistingRun, rendererFor } from './shared.js';

/** How a new expert starts: BTM's weighted average of the nearest experts, or the run's seed. */
export type AddExpertInit = 'nearest' | 'seed';

/** Flags of `cbtm add-expert`. */
export interface AddExpertCommandOptions {
  readonly run: string;
  readonly corpus: string;
  /** Training tokens of each new expert. @default the run's per-expert budget, train.tokens / k */
  readonly tokens?: number | string;
  /** New clusters (and experts) to carve out of the corpus. @default 1 */
  readonly clusters?: number;
  /** @default 'nearest' */
  readonly init?: string;
  /** Existing experts averaged for `--init nearest`. @default 2 */
  readonly initTopK?: number;
  /** Score the grown run and rewrite its report afterwards (`--no-eval` skips). @default true */
  readonly eval?: boolean;
}

/** One entry of `<run>/clusters/added-experts.json`. */
export interface AddedExpert {
  /** The new expert's id, which is also its cluster's and shard's. */
  readonly expert: number;
  readonly corpus: { readonly path: string; readonly files: unknown };
  /** Documents of the corpus assigned to this new cluster. */
  readonly documents: number;
  /** The new centroid's top terms (tf-idf embedders only). */
  readonly topTerms?: readonly string[];
  readonly init:
    | {
        readonly kind: 'nearest';
        /** The existing experts averaged, with their weights (routing weights of the new centroid). */
        readonly from: readonly { readonly expert: number; readonly weight: number }[];
      }
    | { readonly kind: 'seed'; readonly from: string };
  /** Training tokens given to the new expert (its compute). */
  readonly tokens: number;
  readonly steps: number;
  readonly valLoss: number | null;
  readonly addedAt: string;
}

/** `<run>/clusters/added-experts.json`: every expert `cbtm add-expert` added, in order. */
export interface AddedExpertsFile {
  readonly format: 'cbtm-added-experts';
  readonly version: 1;
  /** The run's own number of clusters, before any was added. */
  readonly baseK: number;
  readonly experts: readonly AddedExpert[];
}

/** Written once everything new is ready; its presence means "move it into the run". */
interface CommitJournal {
  readonly format: 'cbtm-add-expert-commit';
  readonly work: string;
  /** Experts before this addition, and the new ids. */
  readonly k: number;
  readonly experts: readonly number[];
}

const JOURNAL = 'commit.json';

function positiveInteger(value: unknown, flag: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`${flag} must be an integer ≥ 1, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/**
 * `cbtm add-expert --run DIR --corpus NEW [--clusters M] [--tokens N] [--init nearest|seed]`:
 * grows a trained run by M experts for new data, without touching the existing experts' files.
 *
 * 1. The new corpus is embedded with the run's fitted embedder and clustered into M balanced
 *    clusters in the run's embedding space (`@cbtm/cluster`'s `clusterCorpus`): M new centroids
 *    and one shard each.
 * 2. Each new expert starts (`--init nearest`, BTM's initialization) from the parameter average
 *    of the `--init-top-k` existing experts nearest to its centroid, weighted by the routing
 *    weights exp(−‖c_new − c_j‖²/T) of the centroid to theirs; or (`--init seed`) from the run's
 *    seed model.
 * 3. It trains on its shard with the run's training machinery and settings, for `--tokens`
 *    tokens (default: the run's per-expert budget).
 * 4. Only then is everything moved into the run: `shards/<j>.jsonl.gz`, `experts/<j>/`, the
 *    centroids (k + M), `clusters/metrics.json`, `clusters/added-experts.json`, the router, and
 *    last the manifest's checksums. The work happens in `<run>/.cbtm/add-expert/`; an
 *    interrupted call resumes there (training from its checkpoint), and a journal makes the
 *    final moves complete on the next call if they were cut short.
 *
 * Then (unless `--no-eval`) the run is scored again and its report rewritten.
 *
 * @example
 * ```ts
 * await addExpertCommand({ run: 'runs/demo', corpus: 'data/fiction.jsonl' }, ctx);
 * ```
 */
export async function addExpertCommand(
  opts: AddExpertCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const clusters = positiveInteger(opts.clusters ?? 1, '--clusters');
  const initTopK = positiveInteger(opts.initTopK ?? 2, '--init-top-k');
  const init = (opts.init ?? 'nearest') as AddExpertInit;
  if (init !== 'nearest' && init !== 'seed') {
    throw new InvalidArgumentError(`--init must be "nearest" or "seed", got "${opts.init}".`);
  }
  const { run, config } = await openExistingRun(opts.run, ctx);
  const layout = new RunLayout(run.dir);
  const corpusPath = resolve(ctx.cwd, opts.corpus);
  const { readOptions } = corpusSource(config);
  await checkCorpusPath(corpusPath, readOptions);
  const tokens =
    opts.tokens === undefined
      ? Math.floor(config.train.tokens / config.cluster.k)
      : Number(opts.tokens);
  if (!(Number.isFinite(tokens) && tokens >= 1)) {
    throw new InvalidArgumentError(`--tokens must be a positive number, got "${opts.tokens}".`);
  }
  const files = await corpusFingerprint(corpusPath);
  // Names this request against the run as its manifest records it: the same call after an
  // interruption finds its own work folder (and training checkpoints) again.
  const workKey = () =>
    hashConfig({
      corpus: files,
      clusters,
      tokens,
      init,
      initTopK: init === 'nearest' ? initTopK : null,
      seed: config.seed,
      centroids: run.stage('cluster')?.outputs['clusters/centroids.json'] ?? null,
      experts: run.stage('experts')?.outputs.experts ?? null,
    }).slice(0, 16);
  /** Checks the run, prepares and trains the new experts, and commits them; their ids. */
  const addNewExperts = async (): Promise<number[]> => {
    for (const stage of ['cluster', 'shard', 'experts', 'router']) {
      if (!run.stageDone(stage)) {
        throw new CbtmError(
          'E_STAGE_MISSING',
          `${run.dir} has no finished ${stage} stage. Finish the run first (\`cbtm run --out ${run.dir}\`).`,
        );
      }
    }
    const { readExpertSet, expertSetPath } = await import('@cbtm/ensemble/node');
    const set = await readExpertSet(run.dir);
    if (set && set.removed.length > 0) {
      throw new CbtmError(
        'E_RUN_INVALID',
        `${expertSetPath(run.dir)} lists removed experts (${set.removed.map((r) => r.expert).join(', ')}). Restore them first (\`cbtm remove-expert --run ${opts.run} --restore J\`), add the expert, then remove them again.`,
      );
    }
    await verifyModelFiles(run);
    const { loadClusterModel } = await import('@cbtm/cluster/node');
    const k = (await loadClusterModel(layout.clusters())).k;
    const expertIds = await layout.expertIds();
    if (expertIds.length !== k || expertIds.some((j, i) => j !== i)) {
      throw new CbtmError(
        'E_RUN_INVALID',
        `${layout.experts} has expert folders ${expertIds.join(', ') || 'none'}, but ${layout.clusters('centroids.json')} has k = ${k} centroids; expected folders 0..${k - 1}.`,
      );
    }
    const ids = Array.from({ length: clusters }, (_, m) => k + m);
    for (const j of ids) {
      for (const p of [layout.expert(j), layout.shard(j)]) {
        if (await pathExists(p)) {
          throw new CbtmError(
            'E_RUN_INVALID',
            `${p} already exists, though the run has k = ${k} clusters; add-expert did not make it and will not overwrite it. Move it away first.`,
          );
        }
      }
    }
    const seedDir = config.train.seedFrom ?? layout.seed;
    if (init === 'seed' && !(await pathExists(join(seedDir, 'model.json')))) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `--init seed: the run has no seed model (${join(seedDir, 'model.json')} is missing; it trained with train.seedTokens = 0). Use --init nearest.`,
      );
    }
    const key = workKey();
    await prepareAddition({
      run,
      config,
      corpus: { path: corpusPath, files, readOptions },
      work: layout.addExpertWork(key),
      k,
      clusters,
      tokens,
      init,
      initTopK,
      seedDir,
      ctx,
      renderer,
    });
    await writeJsonAtomic(layout.addExpertWork(JOURNAL), {
      format: 'cbtm-add-expert-commit',
      work: key,
      k,
      experts: ids,
    } satisfies CommitJournal);
    return finishPendingCommit(run, config);
  };
  const renderer = rendererFor(ctx);
  try {
    // A previous call that stopped while moving its results in: finish it first. When it was
    // this very request, that is all there is to do.
    const journal = await readJournal(layout);
    let newIds: number[] | null = null;
    if (journal) {
      const same = journal.work === workKey();
      const finished = await finishPendingCommit(run, config);
      if (same) newIds = finished;
      else
        ctx.stderr.write(
          `Finished an earlier, interrupted add-expert: experts ${finished.join(', ')}.\n`,
        );
    }
    if (newIds === null) newIds = await addNewExperts();
    renderer.stop();

    const record = await readJsonFile<AddedExpertsFile>(layout.addedExperts);
    for (const a of record.experts.filter((e) => newIds!.includes(e.expert))) {
      const from =
        a.init.kind === 'nearest'
          ? a.init.from.map((f) => `${f.weight.toFixed(3)} × expert ${f.expert}`).join(' + ')
          : `the seed (${a.init.from})`;
      ctx.stderr.write(
        `Added expert ${a.expert}: ${a.documents} documents of ${opts.corpus}` +
          `${a.topTerms ? ` (top terms: ${a.topTerms.slice(0, 6).join(', ')})` : ''}; ` +
          `branched from ${from}; trained ${a.steps} steps on ${a.tokens.toLocaleString('en-US')} tokens.\n`,
      );
    }
    const total = (await layout.expertIds()).length;
    ctx.stdout.write(
      `${run.dir} now has ${total} experts (${newIds.map((j) => `expert ${j}`).join(', ')} new); the other experts' files are unchanged.\n`,
    );
    if (opts.eval === false) {
      ctx.stdout.write(`Next: cbtm eval --run ${run.dir}\n`);
      return;
    }
    const sctx = await stageContext(run, config, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
    await runStages(sctx, ['eval', 'report']);
    renderer.stop();
    ctx.stdout.write(
      formatResultsTable(await readJsonFile(layout.evalResults), {
        report: run.stageDone('report') ? layout.report : null,
      }),
    );
  } finally {
    renderer.stop();
  }
}

interface PrepareInput {
  readonly run: RunDir;
  readonly config: CbtmConfig;
  readonly corpus: {
    readonly path: string;
    readonly files: unknown;
    readonly readOptions: ReturnType<typeof corpusSource>['readOptions'];
  };
  /** `<run>/.cbtm/add-expert/<key>/`. */
  readonly work: string;
  readonly k: number;
  readonly clusters: number;
  readonly tokens: number;
  readonly init: AddExpertInit;
  readonly initTopK: number;
  readonly seedDir: string;
  readonly ctx: CommandContext;
  readonly renderer: ProgressRenderer;
}

/**
 * Clusters the new corpus, makes each new expert's starting point and trains it, all inside
 * `work`, then writes what the commit moves into the run (`work/commit/`). Each step is skipped
 * when a previous call already finished it.
 */
async function prepareAddition(p: PrepareInput): Promise<void> {
  const { run, config, work, k, clusters, ctx, renderer } = p;
  const layout = new RunLayout(run.dir);
  const signal = ctx.signal;
  const onProgress = renderer.onProgress;
  const [cluster, { loadEmbedder }, route, train] = await Promise.all([
    import('@cbtm/cluster/node'),
    import('@cbtm/embed/node'),
    import('@cbtm/route/node'),
    import('@cbtm/train/node'),
  ]);
  const embedder = await loadEmbedder(layout.embedder);
  const old = await cluster.loadClusterModel(layout.clusters());

  // 1. The new clusters, in the run's embedding space.
  const newMetricsFile = join(work, 'clusters', 'metrics.json');
  if (!(await pathExists(newMetricsFile))) {
    await cluster.clusterCorpus(
      () => readCorpus(p.corpus.path, p.corpus.readOptions),
      embedder,
      work,
      {
        k: clusters,
        seed: deriveSeed(config.seed, 'add-expert'),
        maxIter: config.cluster.iterations,
        balanceSlack: config.cluster.balanceSlack,
        nInit: config.cluster.inits,
        sampleSize: config.cluster.sample ?? cluster.defaultClusterCorpusOptions.sampleSize,
        signal,
        onProgress,
      },
    );
  }
  const fresh = await cluster.loadClusterModel(join(work, 'clusters'));
  const freshMetrics = await readJsonFile<ClusterMetrics>(newMetricsFile);
  if (fresh.dimension !== old.dimension) {
    throw new CbtmError(
      'E_RUN_INVALID',
      `${join(work, 'clusters')} has centroids of dimension ${fresh.dimension}, the run's are ${old.dimension}. Delete ${work} and run add-expert again.`,
    );
  }
  const d = old.dimension;

  // 2. Where each new expert starts.
  const router = await route.loadRouter(layout.router);
  const inits: AddedExpert['init'][] = [];
  for (let m = 0; m < clusters; m++) {
    if (p.init === 'seed') {
      inits.push({ kind: 'seed', from: p.seedDir });
      continue;
    }
    const { experts, weights } = router.route(fresh.centroids.subarray(m * d, (m + 1) * d), {
      topK: p.initTopK,
      temperature: config.eval.temperature,
    });
    inits.push({
      kind: 'nearest',
      from: experts.map((expert, i) => ({ expert, weight: weights[i]! })),
    });
  }
  const initDir = (m: number) => join(work, 'init', String(m));
  for (let m = 0; m < clusters; m++) {
    const i = inits[m]!;
    if (i.kind !== 'nearest' || (await pathExists(join(initDir(m), train.MERGE_MARKER_FILE))))
      continue;
    await train.mergeModelFolders({
      sources: i.from.map((f) => ({ dir: layout.expert(f.expert), tokenizer: layout.tokenizer })),
      coefficients: i.from.map((f) => f.weight),
      out: initDir(m),
      describe: { run: run.dir, purpose: 'add-expert initialization', from: i.from },
    });
  }

  // 3. Train the new experts with the run's settings.
  const expertDir = (m: number) => join(work, 'experts', String(k + m));
  const tasks = [];
  for (let m = 0; m < clusters; m++) {
    if ((await train.readTrainProgress(expertDir(m))).done) continue;
    tasks.push({
      name: `expert-${k + m}`,
      dir: expertDir(m),
      data: [join(work, 'shards', `${m}.jsonl.gz`)],
      tokens: p.tokens,
      initFrom: p.init === 'seed' ? p.seedDir : initDir(m),
      ...(config.train.expertBatchSize !== null ? { batchSize: config.train.expertBatchSize } : {}),
    });
  }
  if (tasks.length > 0) {
    await train.trainExperts(tasks, {
      ...runTrainOptions(config, layout),
      resultsFile: join(work, 'train-results.json'),
      log: renderer.log,
      signal,
      onProgress,
    });
  }

  // 4. What the commit moves into the run.
  const now = new Date().toISOString();
  const combined = new cluster.ClusterModel(
    Float32Array.from([...old.centroids, ...fresh.centroids]),
    k + clusters,
    d,
  );
  const terms = await clusterTopTerms(embedder, combined);
  const added: AddedExpert[] = [];
  for (let m = 0; m < clusters; m++) {
    const state = await train.readTrainState(expertDir(m));
    const last = [...(state.history ?? [])].reverse().find((h) => h.valLoss !== undefined);
    added.push({
      expert: k + m,
      corpus: { path: p.corpus.path, files: p.corpus.files },
      documents: freshMetrics.sizes[m]!,
      ...(terms ? { topTerms: terms[k + m]! } : {}),
      init: inits[m]!,
      tokens: p.tokens,
      steps: state.step,
      valLoss: last?.valLoss ?? null,
      addedAt: now,
    });
  }
  const commit = join(work, 'commit');
  await cluster.saveClusterModel(combined, commit);
  const previous = (await pathExists(layout.addedExperts))
    ? await readJsonFile<AddedExpertsFile>(layout.addedExperts)
    : null;
  await writeJsonAtomic(join(commit, 'added-experts.json'), {
    format: 'cbtm-added-experts',
    version: 1,
    baseK: previous?.baseK ?? k,
    experts: [...(previous?.experts ?? []), ...added],
  } satisfies AddedExpertsFile);
  const metrics = await readJsonFile<ClusterMetricsFile>(layout.clusters('metrics.json'));
  await writeJsonAtomic(
    join(commit, 'metrics.json'),
    grownMetrics(metrics, freshMetrics, terms, cluster.clusterMetrics),
  );
}

/**
 * The run's cluster metrics with the new clusters appended: their sizes, top terms and
 * contingency columns (the new corpus's labels), purity and NMI over every document.
 */
function grownMetrics(
  old: ClusterMetricsFile,
  fresh: ClusterMetrics,
  terms: string[][] | undefined,
  clusterMetrics: typeof import('@cbtm/cluster').clusterMetrics,
): ClusterMetricsFile {
  const k = old.sizes.length;
  const m = fresh.sizes.length;
  const oldLabels = old.labels ?? null;
  const newLabels = fresh.labels;
  const classes = [
    ...new Set([...(oldLabels?.classes ?? []), ...(newLabels?.classes ?? [])]),
  ].sort();
  const row = (
    labels: { classes: readonly string[]; contingency: readonly (readonly number[])[] } | null,
    c: string,
    width: number,
  ) => {
    const r = labels ? labels.classes.indexOf(c) : -1;
    return r >= 0 ? [...labels!.contingency[r]!] : new Array<number>(width).fill(0);
  };
  const base = clusterMetrics({
    method: old.method ?? 'nearest-centroid',
    sizes: [...old.sizes, ...fresh.sizes],
    inertia:
      old.inertia !== undefined && old.inertia !== null && fresh.inertia !== null
        ? old.inertia + fresh.inertia
        : null,
    labelField: oldLabels?.field ?? newLabels?.field ?? 'domain',
    ...(classes.length > 0
      ? {
          contingency: {
            labels: classes,
            k: k + m,
            counts: classes.map((c) => [...row(oldLabels, c, k), ...row(newLabels, c, m)]),
          },
        }
      : {}),
  });
  return {
    ...base,
    purity: base.labels ? base.labels.purity : null,
    nmi: base.labels ? Math.min(1, base.labels.nmi) : null,
    ...(terms ? { topTerms: terms } : {}),
  };
}

/** The commit journal of an addition that is ready to move in, or null. */
async function readJournal(layout: RunLayout): Promise<CommitJournal | null> {
  const file = layout.addExpertWork(JOURNAL);
  if (!(await pathExists(file))) return null;
  const journal = await readJsonFile<CommitJournal>(file);
  if (journal.format !== 'cbtm-add-expert-commit' || !Array.isArray(journal.experts)) {
    throw new CbtmError(
      'E_FORMAT',
      `${file}: not an add-expert commit journal (field "format" is ${JSON.stringify(journal.format)}).`,
    );
  }
  return journal;
}

/**
 * Completes an addition whose results are ready (the journal exists): moves the new shards and
 * expert folders into the run, writes the grown centroids, metrics and `added-experts.json`,
 * rebuilds the router, records the checksums in the manifest, and removes the work folder.
 * Every step can be repeated, so a call cut short is finished by the next. Returns the experts
 * it added.
 */
async function finishPendingCommit(run: RunDir, config: CbtmConfig): Promise<number[]> {
  const layout = new RunLayout(run.dir);
  const journalFile = layout.addExpertWork(JOURNAL);
  const journal = await readJournal(layout);
  if (!journal) throw new CbtmError('E_RUN_INVALID', `${journalFile} is missing.`);
  const work = layout.addExpertWork(journal.work);
  const commit = join(work, 'commit');
  const moveIn = async (from: string, to: string) => {
    if (await pathExists(from)) await rename(from, to);
    else if (!(await pathExists(to))) {
      throw new CbtmError(
        'E_RUN_INVALID',
        `${from} is missing and ${to} does not exist: the add-expert work folder is incomplete. Delete ${journalFile} and ${work}, and run add-expert again.`,
      );
    }
  };
  for (const [m, j] of journal.experts.entries()) {
    await moveIn(join(work, 'shards', `${m}.jsonl.gz`), layout.shard(j));
    await moveIn(join(work, 'experts', String(j)), layout.expert(j));
  }
  await moveIn(join(commit, 'centroids.json'), layout.clusters('centroids.json'));
  await moveIn(join(commit, 'metrics.json'), layout.clusters('metrics.json'));
  await moveIn(join(commit, 'added-experts.json'), layout.addedExperts);

  const [{ loadClusterModel }, { buildRouterFromCentroids }] = await Promise.all([
    import('@cbtm/cluster/node'),
    import('@cbtm/route/node'),
  ]);
  const model = await loadClusterModel(layout.clusters());
  const router = await buildRouterFromCentroids(model.centroids, model.k, model.dimension, {
    kind: config.router.kind,
  });
  await router.save(layout.router);

  // The manifest last: until now eval and serve refuse the run (its checksums differ).
  const added = (await readJsonFile<AddedExpertsFile>(layout.addedExperts)).experts.map(
    (a) => a.expert,
  );
  const rerecord = async (
    stage: string,
    extra: readonly string[],
    info: Record<string, unknown>,
  ) => {
    const record = run.stage(stage)!;
    await run.markStageDone(stage, {
      config: record.config,
      outputs: [...new Set([...Object.keys(record.outputs), ...extra])],
      info: { ...(record.info ?? {}), ...info },
    });
  };
  const metrics = await readJsonFile<ClusterMetricsFile>(layout.clusters('metrics.json'));
  await rerecord('cluster', ['clusters/added-experts.json'], { k: model.k, addedExperts: added });
  await rerecord('shard', [], {
    sizes: metrics.sizes,
    purity: metrics.purity ?? null,
    nmi: metrics.nmi ?? null,
  });
  await rerecord('experts', [], { addedExperts: added });
  await rerecord('router', [], { k: router.k });
  await rm(journalFile);
  await rm(work, { recursive: true, force: true });
  return journal.experts.slice();
}
