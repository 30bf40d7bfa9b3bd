import { throwIfAborted } from '@cbtm/core';
import { sendJson } from '../http-json.js';
import { type RouteRequest, routeRequestSchema } from '../request-schemas.js';
import { type Handler, parse, routeOptions } from './handler.js';

/** `POST /v1/route` `{ text, topK?, temperature? }` → `{ experts, weights, distances }`. */
export const route: Handler = async (body, { res, signal }, { ensemble, queue, defaults }) => {
  const r: RouteRequest = parse(routeRequestSchema, body);
  const result = await queue.run(async () => {
    throwIfAborted(signal);
    const vec = await ensemble.embedder.embedText(r.text);
    return ensemble.router.route(vec, routeOptions(defaults, r));
  });
  sendJson(res, 200, {
    experts: result.experts,
    weights: Array.from(result.weights),
    distances: Array.from(result.distances),
  });
};
