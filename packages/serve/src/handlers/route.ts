import type { RouteRequest } from '../request-schemas.js';
import { type Handler, routeOptions, work } from './handler.js';

/** `POST /v1/route` `{ text, topK?, temperature? }` → `{ experts, weights, distances }`. */
export const route: Handler = async (body, ctx, state) => {
  const r = body as RouteRequest;
  return work(state, ctx, { op: 'route', text: r.text, routing: routeOptions(state.defaults, r) });
};
