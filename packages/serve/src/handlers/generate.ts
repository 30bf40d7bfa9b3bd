import type { IncomingMessage } from 'node:http';
import type { GeneratedToken } from '@cbtm/ensemble';
import type { GenerateRequest } from '../request-schemas.js';
import { startEventStream, writeEvent } from '../sse.js';
import { toHttpError } from '../to-http-error.js';
import type { FinishReason, GenerateTask } from '../worker-protocol.js';
import {
  checkRequestTokens,
  type Handler,
  mixingOf,
  type RequestContext,
  routeOptions,
  type ServerState,
  work,
} from './handler.js';

function wantsStream(req: IncomingMessage, body: GenerateRequest): boolean {
  return body.stream || /\btext\/event-stream\b/.test(req.headers.accept ?? '');
}

/** Generates in the model worker, calling `onToken` for each token as it is posted; counts them in `stats`. */
async function generateTokens(
  task: GenerateTask,
  ctx: RequestContext,
  state: ServerState,
  onToken: (t: GeneratedToken) => void,
): Promise<FinishReason> {
  ctx.stats.tokens = 0;
  const { finishReason } = await work<{ finishReason: FinishReason }>(state, ctx, task, (e) => {
    if (e.kind !== 'token' || ctx.signal.aborted) return;
    ctx.stats.tokens = (ctx.stats.tokens ?? 0) + 1;
    onToken(e.token);
  });
  return finishReason;
}

/** Streams one `token` event per token and a final `done` (or `error`) event. */
async function streamTokens(task: GenerateTask, ctx: RequestContext, state: ServerState) {
  const { res, stats } = ctx;
  ctx.reply.hijack();
  startEventStream(res);
  let text = '';
  let count = 0;
  try {
    const finishReason = await generateTokens(task, ctx, state, (t) => {
      text += t.token;
      count += 1;
      // The worker does not wait for the socket: Node buffers what the client has not read yet.
      void writeEvent(res, 'token', t);
    });
    await writeEvent(res, 'done', { text, count, finishReason });
  } catch (err) {
    stats.aborted = ctx.signal.aborted;
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
  checkRequestTokens(state, r.maxTokens, `maxTokens is ${r.maxTokens}`, 'maxTokens');
  const task: GenerateTask = {
    op: 'generate',
    prompt: r.prompt,
    maxTokens: r.maxTokens,
    temperature: r.temperature,
    topP: r.topP,
    topK: r.topK,
    seed: r.seed,
    stop: r.stop,
    routing: routeOptions(state.defaults, r.routing ?? {}),
    mixing: mixingOf(state, r),
  };
  if (wantsStream(ctx.req, r)) return streamTokens(task, ctx, state);
  const tokens: GeneratedToken[] = [];
  const finishReason = await generateTokens(task, ctx, state, (t) => {
    tokens.push(t);
  });
  return { text: tokens.map((t) => t.token).join(''), tokens, finishReason };
};
