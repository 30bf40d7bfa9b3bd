import type { ScoreRequest } from '../request-schemas.js';
import { type Handler, mixingOf, routeOptions, work } from './handler.js';

/** `POST /v1/score` → per-token log-probabilities and routes, `nll`, `perplexity`, `expertsRun`. */
export const score: Handler = async (body, ctx, state) => {
  const r = body as ScoreRequest;
  return work(state, ctx, {
    op: 'score',
    text: r.text,
    routing: routeOptions(state.defaults, r),
    mixing: mixingOf(state, r),
    ...(r.weightsMode ? { weightsMode: r.weightsMode } : {}),
    ...(r.maxTokens !== undefined ? { maxTokens: r.maxTokens } : {}),
    ...(r.appendEos !== undefined ? { appendEos: r.appendEos } : {}),
  });
};
