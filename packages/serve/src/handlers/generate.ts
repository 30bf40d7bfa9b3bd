import type { IncomingMessage } from 'node:http';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CbtmError } from '@cbtm/core';
import type { GeneratedToken } from '@cbtm/ensemble';
import type { GenerateRequest } from '../request-schemas.js';
import { startEventStream, writeEvent } from '../sse.js';
import { toHttpError } from '../to-http-error.js';
import {
  type Handler,
  mixingOptions,
  type RequestContext,
  routeOptions,
  type ServerState,
} from './handler.js';

type FinishReason = 'length' | 'stop';

function wantsStream(req: IncomingMessage, body: GenerateRequest): boolean {
  return body.stream || /\btext\/event-stream\b/.test(req.headers.accept ?? '');
}

/** Generates in the server's queue, calling `onToken` for each token; counts them in `stats`. */
function generateTokens(
  r: GenerateRequest,
  { signal, stats }: RequestContext,
  state: ServerState,
  onToken: (t: GeneratedToken) => Promise<void> | void,
): Promise<FinishReason> {
  const { ensemble, queue, defaults } = state;
  const routing = routeOptions(defaults, r.routing ?? {});
  const mix = mixingOptions(state, r);
  return queue.run(async () => {
    let count = 0;
    stats.tokens = 0;
    for await (const t of ensemble.generate(r.prompt, {
      maxTokens: r.maxTokens,
      temperature: r.temperature,
      topP: r.topP,
      topK: r.topK,
      seed: r.seed,
      stop: r.stop,
      routing,
      ...mix,
      signal,
    })) {
      count += 1;
      stats.tokens = count;
      await onToken(t);
      // Expert passes can resolve without leaving the microtask queue; yield to the event
      // loop so each event reaches the socket now and a disconnect is noticed.
      await yieldToEventLoop();
    }
    // Generation yields every token it samples unless end-of-document or a stop string ends it.
    return count === r.maxTokens ? 'length' : 'stop';
  });
}

/** Streams one `token` event per token and a final `done` (or `error`) event. */
async function streamTokens(
  r: GenerateRequest,
  ctx: RequestContext,
  state: ServerState,
): Promise<void> {
  const { res, stats } = ctx;
  ctx.reply.hijack();
  startEventStream(res);
  let text = '';
  let count = 0;
  try {
    const finishReason = await generateTokens(r, ctx, state, async (t) => {
      text += t.token;
      count += 1;
      await writeEvent(res, 'token', t);
    });
    await writeEvent(res, 'done', { text, count, finishReason });
  } catch (err) {
    stats.aborted = err instanceof CbtmError && err.code === 'E_ABORTED';
    if (!res.destroyed) {
      const e = toHttpError(err, state.force.aborted, state.log);
      await writeEvent(res, 'error', e.toBody().error);
    }
  }
  res.end();
}

/**
 * `POST /v1/generate` → `{ text, tokens, finishReason }`, or with `stream: true` (or
 * `Accept: text/event-stream`) Server-Sent Events. A client that disconnects aborts it.
 */
export const generate: Handler = async (body, ctx, state) => {
  const r = body as GenerateRequest;
  if (wantsStream(ctx.req, r)) return streamTokens(r, ctx, state);
  const tokens: GeneratedToken[] = [];
  const finishReason = await generateTokens(r, ctx, state, (t) => {
    tokens.push(t);
  });
  return { text: tokens.map((t) => t.token).join(''), tokens, finishReason };
};
