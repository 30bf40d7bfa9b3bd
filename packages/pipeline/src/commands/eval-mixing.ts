import type { Document } from '@cbtm/core';
import type { EvalMethod } from '@cbtm/ensemble';
import type { EvalResults } from '../results.js';
import {
  assertFinitePerplexities,
  clusterQuality,
  type EvalSettings,
  evalMethods,
} from '../stages/eval.js';
import type { StageContext } from '../stages/stage.js';
import { describePrior, type ResolvedMixing } from './mixing-flags.js';

async function* capped(docs: AsyncIterable<Document>, max: number | null) {
  let n = 0;
  for await (const d of docs) {
    if (max !== null && n >= max) return;
    n += 1;
    yield d;
  }
}

/**
 * `cbtm eval --mixing cached-prior|updating-prior`: the run's usual methods (dense, c-BTM at each
 * top-k, random) and, beside each c-BTM method, the same top-k under BTM's mixing rule
 * (`cbtm-top2-updating-prior`), all scored in one pass over the same documents.
 */
export async function evaluateWithMixing(
  ctx: StageContext,
  settings: EvalSettings,
  corpus: { readonly docs: AsyncIterable<Document>; readonly name: string },
  mixing: ResolvedMixing,
): Promise<EvalResults> {
  const { run, config } = ctx;
  const [{ evaluate, scorersFor }, { loadRun }] = await Promise.all([
    import('@cbtm/ensemble'),
    import('@cbtm/ensemble/node'),
  ]);
  const loaded = await loadRun(run.dir, { backend: config.train.backend, log: ctx.log });
  try {
    let prior: number[] | undefined;
    if (mixing.prior) {
      prior = Array.from(
        await loaded.cbtm.estimatePrior(mixing.prior.docs(), {
          maxDocuments: mixing.maxDocuments,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        }),
      );
      ctx.log(describePrior(mixing, prior));
    }
    const base = evalMethods(settings, loaded.cbtm.k, {
      dense: config.baselines.dense && loaded.dense !== undefined,
      random: config.baselines.random && loaded.random !== undefined,
    });
    const btm: EvalMethod[] = base.flatMap((m) =>
      m.kind === 'cbtm'
        ? [
            {
              kind: 'cbtm' as const,
              name: `${m.name}-${mixing.rule}`,
              ...(m.topK !== undefined ? { topK: m.topK } : {}),
              mixing: mixing.rule,
              ...(prior ? { prior } : {}),
            },
          ]
        : [],
    );
    const results = await evaluate(
      scorersFor(loaded, [...base, ...btm]),
      capped(corpus.docs, settings.maxDocs),
      {
        backend: loaded.backend,
        corpusName: corpus.name,
        ...(settings.maxTokensPerDoc !== null
          ? { maxTokensPerDocument: settings.maxTokensPerDoc }
          : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
      },
    );
    assertFinitePerplexities(results, run.dir);
    return {
      ...results,
      config: {
        ...results.config,
        mixing: mixing.rule,
        prior: prior ?? null,
        priorCorpus: mixing.prior ? mixing.prior.label : null,
        priorDocuments: mixing.prior ? mixing.maxDocuments : null,
      },
      temperature: settings.temperature,
      clusters: await clusterQuality(ctx),
    };
  } finally {
    await loaded.dispose();
  }
}
