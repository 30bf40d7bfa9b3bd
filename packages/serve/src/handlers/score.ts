import type { ScoreRequest } from '../request-schemas.js';
import { type Handler, mixingOptions, routeOptions } from './handler.js';

/** `POST /v1/score` → per-token log-probabilities and routes, `nll`, `perplexity`, `expertsRun`. */
export const score: Handler = async (body, { signal }, state) => {
  const { ensemble, queue, defaults } = state;
  const r = body as ScoreRequest;
  const mix = mixingOptions(state, r);
  const s = await queue.run(() =>
    ensemble.scoreSequence(r.text, {
      ...routeOptions(defaults, r),
      ...mix,
      ...(r.weightsMode ? { weightsMode: r.weightsMode } : {}),
      ...(r.maxTokens !== undefined ? { maxTokens: r.maxTokens } : {}),
      ...(r.appendEos !== undefined ? { appendEos: r.appendEos } : {}),
      signal,
    }),
  );
  return {
    tokens: Array.from(s.tokens, (id, t) => ({
      id,
      text: ensemble.tokenizer.decode([id]),
      logProb: s.tokenLogProbs[t]!,
      experts: s.routes[t]!.experts,
      weights: Array.from(s.routes[t]!.weights),
    })),
    nll: s.nll,
    perplexity: s.perplexity,
    expertsRun: s.expertsRun,
  };
};
