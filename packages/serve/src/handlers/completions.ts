import { randomInt, randomUUID } from 'node:crypto';
import type { CompletionRequest } from '../request-schemas.js';
import { startEventStream, writeData } from '../sse.js';
import { toHttpError } from '../to-http-error.js';
import type { CompletionTask, FinishReason, Piece, TaskEvent } from '../worker-protocol.js';
import {
  checkRequestTokens,
  type Handler,
  mixingOf,
  type RequestContext,
  routeOptions,
  type ServerState,
  work,
} from './handler.js';
import { modelFor } from './models.js';

/** OpenAI's legacy `logprobs` object of one choice (or one streamed piece of it). */
interface LogProbs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[] | null;
  text_offset: number[];
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function logProbsOf(pieces: readonly Piece[], offset: number, top: number): LogProbs {
  const out: LogProbs = {
    tokens: [],
    token_logprobs: [],
    top_logprobs: top > 0 ? [] : null,
    text_offset: [],
  };
  for (const p of pieces) {
    out.tokens.push(p.text);
    out.token_logprobs.push(p.logProb!);
    out.text_offset.push(offset);
    offset += p.text.length;
    if (out.top_logprobs) {
      const alternatives: Record<string, number> = {};
      for (const [text, lp] of p.top ?? []) if (!(text in alternatives)) alternatives[text] = lp;
      out.top_logprobs.push(alternatives);
    }
  }
  return out;
}

const usageOf = (u: { promptTokens: number; completionTokens: number }): Usage => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.promptTokens + u.completionTokens,
});

type Run = (onEvent: (e: TaskEvent) => void) => Promise<Usage>;

async function complete(r: CompletionRequest, head: object, run: Run): Promise<object> {
  const pieces = new Map<number, Piece[]>();
  const finish = new Map<number, FinishReason>();
  const of = (i: number) => pieces.get(i) ?? pieces.set(i, []).get(i)!;
  const usage = await run((e) => {
    if (e.kind === 'echo') of(e.index).push(...e.pieces);
    else if (e.kind === 'piece') of(e.index).push(e.piece);
    else if (e.kind === 'choice-done') finish.set(e.index, e.finishReason);
  });
  const choices = [...finish.keys()]
    .sort((a, b) => a - b)
    .map((index) => ({
      text: of(index)
        .map((p) => p.text)
        .join(''),
      index,
      logprobs: r.logprobs == null ? null : logProbsOf(of(index), 0, r.logprobs),
      finish_reason: finish.get(index)!,
    }));
  return { ...head, choices, usage };
}

async function streamCompletion(
  r: CompletionRequest,
  head: object,
  run: Run,
  ctx: RequestContext,
  state: ServerState,
): Promise<void> {
  const { res } = ctx;
  ctx.reply.hijack();
  startEventStream(res);
  const offsets = new Map<number, number>();
  // The worker does not wait for the socket: Node buffers what the client has not read yet.
  const chunk = (
    index: number,
    text: string,
    logprobs: LogProbs | null,
    finish: FinishReason | null,
  ) =>
    void writeData(res, {
      ...head,
      choices: [{ text, index, logprobs, finish_reason: finish }],
    });
  try {
    const usage = await run((e) => {
      if (ctx.signal.aborted) return;
      if (e.kind === 'echo') {
        const text = e.pieces.map((p) => p.text).join('');
        chunk(e.index, text, r.logprobs == null ? null : logProbsOf(e.pieces, 0, r.logprobs), null);
        offsets.set(e.index, text.length);
      } else if (e.kind === 'piece') {
        const offset = offsets.get(e.index) ?? 0;
        const lp = r.logprobs == null ? null : logProbsOf([e.piece], offset, r.logprobs);
        chunk(e.index, e.piece.text, lp, null);
        offsets.set(e.index, offset + e.piece.text.length);
      } else if (e.kind === 'choice-done') {
        chunk(e.index, '', null, e.finishReason);
      }
    });
    if (r.stream_options?.include_usage) await writeData(res, { ...head, choices: [], usage });
    await writeData(res, '[DONE]');
  } catch (err) {
    ctx.stats.aborted = ctx.signal.aborted;
    if (!res.destroyed)
      await writeData(res, toHttpError(err, state.force.aborted, state.log).toBody());
  }
  res.end();
}

/**
 * `POST /v1/completions`: OpenAI's completions API on a served model. The whole request is one
 * task of the model worker, its choices generated one after another; choice `i` uses seed
 * `seed + i` (a random seed when the request has none). `logprobs` are the mixture's, before
 * sampling's temperature and top-p.
 */
export const completions: Handler = async (body, ctx, state) => {
  const r = body as CompletionRequest;
  modelFor(state, r.model);
  const prompts = typeof r.prompt === 'string' ? [r.prompt] : r.prompt;
  checkRequestTokens(
    state,
    prompts.length * r.n * r.max_tokens,
    `${prompts.length} prompt${prompts.length === 1 ? '' : 's'} × n ${r.n} × max_tokens ${r.max_tokens}`,
    'max_tokens',
  );
  // Refuse a bad mixing rule before any work or any streamed byte.
  const task: CompletionTask = {
    op: 'completion',
    model: r.model,
    prompts,
    n: r.n,
    maxTokens: r.max_tokens,
    temperature: r.temperature,
    topP: r.top_p,
    topK: r.top_k ?? 0,
    seed: r.seed ?? randomInt(2 ** 31),
    stop: r.stop,
    routing: routeOptions(state.defaults, r.routing ?? {}),
    mixing: mixingOf(state, r),
    logprobs: r.logprobs ?? null,
    echo: r.echo,
  };
  const head = {
    id: `cmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: r.model,
  };
  ctx.stats.tokens = 0;
  const run: Run = async (onEvent) =>
    usageOf(
      await work<{ promptTokens: number; completionTokens: number }>(state, ctx, task, (e) => {
        if (e.kind === 'piece') ctx.stats.tokens = (ctx.stats.tokens ?? 0) + 1;
        onEvent(e);
      }),
    );
  return r.stream ? streamCompletion(r, head, run, ctx, state) : complete(r, head, run);
};
