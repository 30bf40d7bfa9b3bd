import { join } from 'node:path';
import { CbtmError, RunDirError } from '@cbtm/core';
import { listExpertIds, pathExists, RunLayout } from '@cbtm/core/node';
import { Ensemble } from './ensemble.js';
import { ExpertPool } from './expert-pool.js';
import { ExpertSubsetRouting } from './expert-set.js';
import { expertSetPath, readExpertSet } from './expert-set-file.js';
import { type Routing, UniformRouting } from './routing.js';
import type { RunEnsembles } from './scorers.js';
import type { ContextEmbedder, EnsembleTokenizer, ExpertModel } from './types.js';

/**
 * Options of {@link loadRun}.
 *
 * @example
 * ```ts
 * await loadRun('runs/demo', { maxLoadedExperts: 2, backend: 'wasm' });
 * ```
 */
export interface LoadRunOptions {
  /**
   * How many experts of each set stay loaded at once (least recently used are freed).
   * @default 4
   */
  readonly maxLoadedExperts?: number;
  /**
   * Tensor backend, passed to `@cbtm/train`'s `selectBackend`.
   * @default 'auto'
   */
  readonly backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  /**
   * For embedders without incremental prefixes: re-embed the prefix every this many words.
   * @default 8
   */
  readonly reembedStride?: number;
  /**
   * Where backend selection logs its one line.
   * @default console.error
   */
  readonly log?: (line: string) => void;
}

/**
 * Defaults of {@link LoadRunOptions}.
 *
 * @example
 * ```ts
 * await loadRun(dir, { ...defaultLoadRunOptions, maxLoadedExperts: 8 });
 * ```
 */
export const defaultLoadRunOptions = Object.freeze({
  maxLoadedExperts: 4,
  backend: 'auto' as const,
  reembedStride: 8,
});

async function need(path: string, what: string): Promise<void> {
  if (!(await pathExists(path))) {
    throw new RunDirError('E_STAGE_MISSING', `${path} is missing: ${what}`);
  }
}

/** Numbered sub-directories 0..n−1 of `dir`; gaps are an error. */
async function numberedDirs(dir: string): Promise<number> {
  const ids = await listExpertIds(dir);
  ids.forEach((id, i) => {
    if (id !== i) {
      throw new RunDirError(
        'E_RUN_INVALID',
        `${dir} has expert folders ${ids.join(', ')}; expected 0..${ids.length - 1}.`,
      );
    }
  });
  return ids.length;
}

/**
 * A run directory's ensembles, as {@link loadRun} opens them.
 *
 * @example
 * ```ts
 * const run: LoadedRun = await loadRun('runs/demo');
 * console.log(run.cbtm.k, run.backend, run.dense !== undefined);
 * await run.dispose();
 * ```
 */
export interface LoadedRun extends RunEnsembles {
  /** The run directory. */
  readonly dir: string;
  /** The tensor backend the experts run on. */
  readonly backend: string;
  /** Disposes every loaded model of every ensemble. */
  dispose(): Promise<void>;
}

/**
 * Opens a run directory: reads `<run>/tokenizer/tokenizer.json`, `<run>/embedder/` and
 * `<run>/router/` now, and opens the experts of `<run>/experts/<j>/` lazily (each loads on first
 * use, at most `maxLoadedExperts` at once). When the run has them, the dense baseline
 * (`<run>/dense/`) and the random-cluster experts (`<run>/random/experts/<j>/`, routed by
 * `<run>/random/router/` when present, else mixed uniformly) come as ensembles of their own,
 * sharing the tokenizer and embedder. Experts that `<run>/experts/expert-set.json` lists as
 * removed (`cbtm remove-expert`) are skipped by routing, which renormalizes over the rest.
 *
 * @example
 * ```ts
 * const run = await loadRun('runs/demo', { maxLoadedExperts: 2 });
 * const { perplexity } = await run.cbtm.scoreSequence('In the beginning', { topK: 2 });
 * await run.dispose();
 * ```
 */
export async function loadRun(runDir: string, options: LoadRunOptions = {}): Promise<LoadedRun> {
  const [train, route, embed] = await Promise.all([
    import('@cbtm/train/node'),
    import('@cbtm/route/node'),
    import('@cbtm/embed/node'),
  ]);
  const maxLoaded = options.maxLoadedExperts ?? defaultLoadRunOptions.maxLoadedExperts;
  const backend = await train.selectBackend(
    options.backend ?? defaultLoadRunOptions.backend,
    options.log ? { log: options.log } : {},
  );

  const layout = new RunLayout(runDir);
  const tokenizerFile = layout.tokenizer;
  await need(tokenizerFile, "train the tokenizer first (the pipeline's tokenizer stage).");
  const tokenizer: EnsembleTokenizer = await train.BpeTokenizer.load(tokenizerFile);

  const embedderDir = layout.embedder;
  await need(embedderDir, "fit the embedder first (the pipeline's embed stage).");
  const loadEmbedder = (
    embed as unknown as { loadEmbedder?: (dir: string) => Promise<ContextEmbedder> }
  ).loadEmbedder;
  if (typeof loadEmbedder !== 'function') {
    throw new CbtmError('E_MODEL', 'This @cbtm/embed has no loadEmbedder(); upgrade @cbtm/embed.');
  }
  const embedder = await loadEmbedder(embedderDir);

  const fullRouter = await route.loadRouter(layout.router);
  // Experts taken out by `cbtm remove-expert` keep their ids; routing skips them.
  const expertSet = await readExpertSet(runDir);
  if (expertSet && expertSet.k !== fullRouter.k) {
    throw new RunDirError(
      'E_RUN_INVALID',
      `${expertSetPath(runDir)} is for k = ${expertSet.k}, but the router has k = ${fullRouter.k}. Delete the file (every expert takes part again) or rebuild the router.`,
    );
  }
  const router: Routing =
    expertSet && expertSet.removed.length > 0
      ? new ExpertSubsetRouting(
          fullRouter,
          expertSet.removed.map((r) => r.expert),
        )
      : fullRouter;
  const reembedStride = options.reembedStride ?? defaultLoadRunOptions.reembedStride;
  const ensembleOf = (experts: ExpertPool, routing: Routing) =>
    new Ensemble({ tokenizer, embedder, experts, router: routing, reembedStride });
  const modelLoader = (dir: string) => async (): Promise<ExpertModel> => {
    await need(
      join(dir, train.MODEL_JSON),
      "train this expert first (the pipeline's train stage).",
    );
    return train.GptModel.load(dir);
  };
  const loadExpert = (j: number): Promise<ExpertModel> => {
    const removed = expertSet?.removed.find((r) => r.expert === j);
    if (removed) {
      return Promise.reject(
        new RunDirError(
          'E_RUN_INVALID',
          `Expert ${j} was removed from this run (its folder is ${layout.path(removed.movedTo)}); routing skips it. Restore it with \`cbtm remove-expert --run ${runDir} --restore ${j}\`.`,
        ),
      );
    }
    return modelLoader(layout.expert(j))();
  };
  const cbtm = ensembleOf(new ExpertPool(router.k, loadExpert, { maxLoaded }), router);

  let dense: Ensemble | undefined;
  if (await pathExists(join(layout.dense, train.MODEL_JSON))) {
    dense = ensembleOf(
      new ExpertPool(1, modelLoader(layout.dense), { maxLoaded: 1 }),
      new UniformRouting(1, embedder.dimension),
    );
  }

  let random: Ensemble | undefined;
  const randomExperts = layout.randomExperts;
  if (await pathExists(randomExperts)) {
    const count = await numberedDirs(randomExperts);
    if (count > 0) {
      // The random-cluster experts have no clusters worth the name. When the pipeline saved a
      // router over their groups' mean embeddings, route with it; otherwise mix uniformly.
      let routing: Routing = new UniformRouting(count, embedder.dimension);
      if (await pathExists(layout.random('router', 'router.json'))) {
        routing = await route.loadRouter(layout.random('router'));
      }
      random = ensembleOf(
        new ExpertPool(count, (j) => modelLoader(layout.randomExpert(j))(), { maxLoaded }),
        routing,
      );
    }
  }

  return {
    dir: runDir,
    backend,
    cbtm,
    ...(dense ? { dense } : {}),
    ...(random ? { random } : {}),
    async dispose() {
      await cbtm.dispose();
      await dense?.dispose();
      await random?.dispose();
    },
  };
}
