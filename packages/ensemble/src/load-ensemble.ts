import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CbtmError, RunDirError } from '@cbtm/core';
import { pathExists, RunLayout } from '@cbtm/core/node';
import { Ensemble, type ExpertSet } from './ensemble.js';
import { ExpertPool } from './expert-pool.js';
import { type Routing, UniformRouting } from './routing.js';
import type { ContextEmbedder, EnsembleTokenizer, ExpertModel } from './types.js';

/**
 * Options of {@link Ensemble.load}.
 *
 * @example
 * ```ts
 * await Ensemble.load('runs/demo', { maxLoadedExperts: 2, backend: 'wasm' });
 * ```
 */
export interface LoadEnsembleOptions {
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
 * Defaults of {@link LoadEnsembleOptions}.
 *
 * @example
 * ```ts
 * Ensemble.load(dir, { ...defaultLoadEnsembleOptions, maxLoadedExperts: 8 });
 * ```
 */
export const defaultLoadEnsembleOptions = Object.freeze({
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
  const entries = await readdir(dir, { withFileTypes: true });
  const ids = entries
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
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
 * Implementation of {@link Ensemble.load}: reads `<run>/tokenizer/tokenizer.json`,
 * `<run>/embedder/`, `<run>/router/`, and opens `<run>/experts/<j>/`, `<run>/dense/` and
 * `<run>/random/experts/<j>/` lazily (models load on first use).
 *
 * @example
 * ```ts
 * const ensemble = await loadEnsemble('runs/demo');
 * ```
 */
export async function loadEnsemble(
  runDir: string,
  options: LoadEnsembleOptions = {},
): Promise<Ensemble> {
  const [train, route, embed] = await Promise.all([
    import('@cbtm/train'),
    import('@cbtm/route'),
    import('@cbtm/embed'),
  ]);
  const maxLoaded = options.maxLoadedExperts ?? defaultLoadEnsembleOptions.maxLoadedExperts;
  const backend = await train.selectBackend(
    options.backend ?? defaultLoadEnsembleOptions.backend,
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

  const router = await route.loadRouter(layout.router);
  const modelLoader = (dir: string) => async (): Promise<ExpertModel> => {
    await need(
      join(dir, train.MODEL_JSON),
      "train this expert first (the pipeline's train stage).",
    );
    return train.GptModel.load(dir);
  };
  const experts: ExpertSet = {
    pool: new ExpertPool(router.k, (j) => modelLoader(layout.expert(j))(), {
      maxLoaded,
    }),
    routing: router,
  };

  let dense: ExpertSet | undefined;
  if (await pathExists(join(layout.dense, train.MODEL_JSON))) {
    dense = { pool: new ExpertPool(1, modelLoader(layout.dense), { maxLoaded: 1 }) };
  }

  let random: ExpertSet | undefined;
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
      random = {
        pool: new ExpertPool(count, (j) => modelLoader(layout.randomExpert(j))(), {
          maxLoaded,
        }),
        routing,
      };
    }
  }

  return new Ensemble({
    tokenizer,
    embedder,
    experts,
    ...(dense ? { dense } : {}),
    ...(random ? { random } : {}),
    runDir,
    backend,
    reembedStride: options.reembedStride ?? defaultLoadEnsembleOptions.reembedStride,
  });
}
