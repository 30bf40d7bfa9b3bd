import { throwIfAborted } from '@cbtm/core';
import type { RouteRequest } from '../request-schemas.js';
import { type Handler, routeOptions } from './handler.js';

/** `POST /v1/route` `{ text, topK?, temperature? }` → `{ experts, weights, distances }`. */
export const route: Handler = async (body, { signal }, { ensemble, queue, defaults }) => {
  const r = body as RouteRequest;
  const result = await queue.run(async () => {
    throwIfAborted(signal);
    const vec = await ensemble.embedder.embedText(r.text);
    return ensemble.router.route(vec, routeOptions(defaults, r));
  });
  return {
    experts: result.experts,
    weights: Array.from(result.weights),
    distances: Array.from(result.distances),
  };
};
