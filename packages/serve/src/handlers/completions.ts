import { randomInt, randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CbtmError } from '@cbtm/core';
import type { Ensemble, GeneratedToken } from '@cbtm/ensemble';
import { mixtureLogProbs, type StepLogProbs } from '../mixture-logprobs.js';
import type { CompletionRequest } from '../request-schemas.js';
import { startEventStream, writeData } from '../sse.js';
import { toHttpError } from '../to-http-error.js';
import {
  type Handler,
  mixingOptions,
  type RequestContext,
  routeOptions,
  type ServerState,
} from './handler.js';
import { modelFor } from './models.js';

type FinishReason = 'length' | 'stop';

/** OpenAI's legacy `logprobs` object of one choice (or one streamed piece of it). */
interface LogProbs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[] | null;
  text_offset: number[];
}

/** One token with its text and, when asked, its log-probabilities. */
interface Piece {
  readonly text: string;
  readonly lp: StepLogProbs | undefined;
}

/** What every choice of one request shares. */
interface Job {
  readonly r: CompletionRequest;
  readonly ensemble: Ensemble;
  readonly ctx: RequestContext;
  readonly state: ServerState;
  readonly seed: number;
}

function logProbsOf(ensemble: Ensemble, pieces: readonly Piece[], offset: number, top: number) {
  const out: LogProbs = {
    tokens: [],
    token_logprobs: [],
    top_logprobs: top > 0 ? [] : null,
    text_offset: [],
  };
  for (const p of pieces) {
    out.tokens.push(p.text);
    out.token_logprobs.push(p.lp!.logProb);
    out.text_offset.push(offset);
    offset += p.text.length;
    if (out.top_logprobs) {
      const alternatives: Record<string, number> = {};
      for (const [id, lp] of p.lp!.top) {
        const text = ensemble.tokenizer.decode([id]);
        if (!(text in alternatives)) alternatives[text] = lp;
      }
      out.top_logprobs.push(alternatives);
    }
  }
  return out;
}

/** The prompt's own tokens with their log-probabilities (for `echo` with `logprobs`). */
async function promptPieces(job: Job, prompt: string): Promise<Piece[]> {
  const { r, ensemble, state, ctx } = job;
  const ids = ensemble.tokenizer.encode(prompt);
  if (r.logprobs == null) return [{ text: prompt, lp: undefined }];
  const routing = routeOptions(state.defaults, r.routing ?? {});
  const top = r.logprobs;
  const lps = await state.queue.run(async () => {
    const s = await ensemble.scoreSequence(prompt, {
      ...routing,
      ...mixingOptions(state, r),
      appendEos: false,
      signal: ctx.signal,
    });
    return mixtureLogProbs(
      ensemble,
      [ensemble.tokenizer.eosId, ...ids],
      ids.map((_, t) => ({
        target: t + 1,
        experts: s.routes[t]!.experts,
        weights: Array.from(s.routes[t]!.weights),
      })),
      top,
    );
  });
  return ids.map((id, t) => ({ text: ensemble.tokenizer.decode([id]), lp: lps[t] }));
}

/**
 * Generates one choice in the server's queue. Each token goes to `onPiece` as it is sampled
 * (with its log-probabilities under the mixture when the request asks for `logprobs`).
 */
function generateChoice(
  job: Job,
  prompt: string,
  index: number,
  onPiece: (p: Piece) => Promise<void> | void,
): Promise<{ count: number; finishReason: FinishReason }> {
  const { r, ensemble, ctx, state } = job;
  return state.queue.run(async () => {
    const context = [ensemble.tokenizer.eosId, ...ensemble.tokenizer.encode(prompt)];
    let count = 0;
    for await (const t of ensemble.generate(prompt, {
      maxTokens: r.max_tokens,
      temperature: r.temperature,
      topP: r.top_p,
      topK: r.top_k ?? 0,
      seed: job.seed + index,
      stop: r.stop,
      routing: routeOptions(state.defaults, r.routing ?? {}),
      ...mixingOptions(state, r),
      signal: ctx.signal,
    })) {
      count += 1;
      ctx.stats.tokens = (ctx.stats.tokens ?? 0) + 1;
      context.push(t.id);
      const lp =
        r.logprobs == null
          ? undefined
          : (await mixtureLogProbs(ensemble, context, [step(context, t)], r.logprobs))[0];
      await onPiece({ text: t.token, lp });
      // Expert passes can resolve without leaving the microtask queue; yield so each chunk
      // reaches the socket now and a disconnect is noticed.
      await yieldToEventLoop();
    }
    return { count, finishReason: count === r.max_tokens ? 'length' : 'stop' };
  });
}

const step = (context: readonly number[], t: GeneratedToken) => ({
  target: context.length - 1,
  experts: t.experts,
  weights: t.weights,
});

/** Every (prompt, choice index) of a request, in OpenAI's order: prompt-major. */
function choicesOf(r: CompletionRequest): { prompt: string; index: number }[] {
  const prompts = typeof r.prompt === 'string' ? [r.prompt] : r.prompt;
  return prompts.flatMap((prompt, p) =>
    Array.from({ length: r.n }, (_, i) => ({ prompt, index: p * r.n + i })),
  );
}

function usageOf(job: Job, completionTokens: number) {
  const prompts = typeof job.r.prompt === 'string' ? [job.r.prompt] : job.r.prompt;
  const promptTokens = prompts.reduce((s, p) => s + job.ensemble.tokenizer.encode(p).length, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

async function complete(job: Job, head: object): Promise<object> {
  const { r, ensemble } = job;
  const choices = [];
  let generated = 0;
  for (const { prompt, index } of choicesOf(r)) {
    const pieces: Piece[] = r.echo ? await promptPieces(job, prompt) : [];
    const { count, finishReason } = await generateChoice(job, prompt, index, (p) => {
      pieces.push(p);
    });
    generated += count;
    choices.push({
      text: pieces.map((p) => p.text).join(''),
      index,
      logprobs: r.logprobs == null ? null : logProbsOf(ensemble, pieces, 0, r.logprobs),
      finish_reason: finishReason,
    });
  }
  return { ...head, choices, usage: usageOf(job, generated) };
}

async function streamCompletion(job: Job, head: object): Promise<void> {
  const { r, ensemble, ctx, state } = job;
  const { res } = ctx;
  ctx.reply.hijack();
  startEventStream(res);
  const chunk = (
    index: number,
    text: string,
    pieces: Piece[] | null,
    finish: FinishReason | null,
  ) =>
    writeData(res, {
      ...head,
      choices: [
        {
          text,
          index,
          logprobs:
            pieces && r.logprobs != null ? logProbsOf(ensemble, pieces, 0, r.logprobs) : null,
          finish_reason: finish,
        },
      ],
    });
  try {
    let generated = 0;
    for (const { prompt, index } of choicesOf(r)) {
      let offset = 0;
      if (r.echo) {
        const pieces = await promptPieces(job, prompt);
        await chunk(index, prompt, r.logprobs == null ? null : pieces, null);
        offset = prompt.length;
      }
      const { count, finishReason } = await generateChoice(job, prompt, index, async (p) => {
        const lp = r.logprobs == null ? null : logProbsOf(ensemble, [p], offset, r.logprobs);
        offset += p.text.length;
        await writeData(res, {
          ...head,
          choices: [{ text: p.text, index, logprobs: lp, finish_reason: null }],
        });
      });
      generated += count;
      await chunk(index, '', null, finishReason);
    }
    if (r.stream_options?.include_usage) {
      await writeData(res, { ...head, choices: [], usage: usageOf(job, generated) });
    }
    await writeData(res, '[DONE]');
  } catch (err) {
    ctx.stats.aborted = err instanceof CbtmError && err.code === 'E_ABORTED';
    if (!res.destroyed)
      await writeData(res, toHttpError(err, state.force.aborted, state.log).toBody());
  }
  res.end();
}

/**
 * `POST /v1/completions`: OpenAI's completions API on a served model. Choices are generated one
 * after another in the server's queue; choice `i` uses seed `seed + i` (a random seed when the
 * request has none). `logprobs` are the mixture's, before sampling's temperature and top-p.
 */
export const completions: Handler = async (body, ctx, state) => {
  const r = body as CompletionRequest;
  const ensemble = modelFor(state, r.model);
  // Refuse a bad mixing rule before any work or any streamed byte.
  mixingOptions(state, r);
  const job: Job = { r, ensemble, ctx, state, seed: r.seed ?? randomInt(2 ** 31) };
  const head = {
    id: `cmpl-${randomUUID().replaceAll('-', '')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: r.model,
  };
  ctx.stats.tokens = 0;
  return r.stream ? streamCompletion(job, head) : complete(job, head);
};
