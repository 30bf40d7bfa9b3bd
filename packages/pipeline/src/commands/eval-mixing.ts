import type { Document } from '@cbtm/core';
import type { EvalMethod } from '@cbtm/ensemble';
import type { EvalResults } from '../results.js';
import { type EvalSettings, evaluateRun } from '../stages/eval.js';
import type { StageContext } from '../stages/stage.js';
import { describePrior, type ResolvedMixing } from './mixing-flags.js';

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
  let prior: number[] | undefined;
  const results = await evaluateRun(ctx, settings, corpus, async (loaded, base) => {
    if (mixing.prior) {
      prior = Array.from(
        await loaded.cbtm.estimatePrior(mixing.prior.docs(), {
          maxDocuments: mixing.maxDocuments,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        }),
      );
      ctx.log(describePrior(mixing, prior));
    }
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
    return [...base, ...btm];
  });
  return {
    ...results,
    config: {
      ...results.config,
      mixing: mixing.rule,
      prior: prior ?? null,
      priorCorpus: mixing.prior ? mixing.prior.label : null,
      priorDocuments: mixing.prior ? mixing.maxDocuments : null,
    },
  };
}
