import { sendJson } from '../http-json.js';
import { type ScoreRequest, scoreRequestSchema } from '../request-schemas.js';
import { type Handler, mixingOptions, parse, routeOptions } from './handler.js';

/** `POST /v1/score` → per-token log-probabilities and routes, `nll`, `perplexity`, `expertsRun`. */
export const score: Handler = async (body, { res, signal }, state) => {
  const { ensemble, queue, defaults } = state;
  const r: ScoreRequest = parse(scoreRequestSchema, body);
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
  sendJson(res, 200, {
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
  });
};
