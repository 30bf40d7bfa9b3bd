import { throwIfAborted } from '@cbtm/core';
import type { Ensemble, ExpertStepBatcher, MixingRule } from '@cbtm/ensemble';
import { mixtureLogProbs, type StepLogProbs } from './mixture-logprobs.js';
import type {
  CompletionTask,
  FinishReason,
  GenerateTask,
  Piece,
  RouteTask,
  ScoreTask,
  Task,
  TaskEvent,
} from './worker-protocol.js';

/** What the tasks run on: the served models by id, and the cached prior when there is one. */
export interface TaskModels {
  /** `cbtm`, and `dense` when the run has it. */
  readonly models: ReadonlyMap<string, Ensemble>;
  readonly prior?: readonly number[];
  /**
   * One per served model, shared by every task the worker runs at once: their generation steps
   * that use the same expert run as one batch.
   */
  readonly batchers?: ReadonlyMap<string, ExpertStepBatcher>;
  /** Generation keeps key/value caches. @default true */
  readonly cache?: boolean;
  /** How generation slides each expert's window past its context. @default 1 */
  readonly slideStride?: number;
}

/**
 * Runs one task on the loaded models (in the model worker): returns its answer, and reports
 * tokens through `emit` as they are produced.
 */
export function runTask(
  m: TaskModels,
  task: Task,
  signal: AbortSignal,
  emit: (e: TaskEvent) => void,
): Promise<unknown> {
  switch (task.op) {
    case 'route':
      return route(m, task, signal);
    case 'score':
      return score(m, task, signal);
    case 'generate':
      return generate(m, task, signal, emit);
    case 'completion':
      return completion(m, task, signal, emit);
  }
}

const cbtm = (m: TaskModels) => m.models.get('cbtm')!;

const mixingOf = (m: TaskModels, mixing: MixingRule) => ({
  mixing,
  ...(m.prior ? { prior: m.prior } : {}),
});

/** How the worker decodes with served model `model`: its batcher, caches and window stride. */
const decodingOf = (m: TaskModels, model: string) => {
  const batcher = m.batchers?.get(model);
  return {
    ...(batcher ? { batcher } : {}),
    ...(m.cache === false ? { cache: false } : {}),
    ...(m.slideStride !== undefined ? { slideStride: m.slideStride } : {}),
  };
};

async function route(m: TaskModels, t: RouteTask, signal: AbortSignal) {
  throwIfAborted(signal);
  const ensemble = cbtm(m);
  const result = ensemble.router.route(await ensemble.embedder.embedText(t.text), t.routing);
  return {
    experts: result.experts,
    weights: Array.from(result.weights),
    distances: Array.from(result.distances),
  };
}

async function score(m: TaskModels, t: ScoreTask, signal: AbortSignal) {
  const ensemble = cbtm(m);
  const s = await ensemble.scoreSequence(t.text, {
    ...t.routing,
    ...mixingOf(m, t.mixing),
    ...(t.weightsMode ? { weightsMode: t.weightsMode } : {}),
    ...(t.maxTokens !== undefined ? { maxTokens: t.maxTokens } : {}),
    ...(t.appendEos !== undefined ? { appendEos: t.appendEos } : {}),
    signal,
  });
  return {
    tokens: Array.from(s.tokens, (id, i) => ({
      id,
      text: ensemble.tokenizer.decode([id]),
      logProb: s.tokenLogProbs[i]!,
      experts: s.routes[i]!.experts,
      weights: Array.from(s.routes[i]!.weights),
    })),
    nll: s.nll,
    perplexity: s.perplexity,
    expertsRun: s.expertsRun,
  };
}

async function generate(
  m: TaskModels,
  t: GenerateTask,
  signal: AbortSignal,
  emit: (e: TaskEvent) => void,
): Promise<{ finishReason: FinishReason }> {
  let count = 0;
  for await (const token of cbtm(m).generate(t.prompt, {
    maxTokens: t.maxTokens,
    temperature: t.temperature,
    topP: t.topP,
    topK: t.topK,
    seed: t.seed,
    stop: t.stop,
    routing: t.routing,
    ...mixingOf(m, t.mixing),
    ...decodingOf(m, 'cbtm'),
    signal,
  })) {
    count += 1;
    emit({ kind: 'token', token });
  }
  // Generation yields every token it samples unless end-of-document or a stop string ends it.
  return { finishReason: count === t.maxTokens ? 'length' : 'stop' };
}

/** A piece as it crosses the thread boundary: top alternatives as text. */
function pieceOf(
  ensemble: Ensemble,
  text: string,
  lp: Pick<StepLogProbs, 'logProb' | 'top'> | undefined,
): Piece {
  if (!lp) return { text };
  return {
    text,
    logProb: lp.logProb,
    top: lp.top.map(([id, p]) => [ensemble.tokenizer.decode([id]), p] as const),
  };
}

/** The prompt's own tokens with their log-probabilities (for `echo` with `logprobs`). */
async function promptPieces(
  m: TaskModels,
  ensemble: Ensemble,
  t: CompletionTask,
  prompt: string,
  signal: AbortSignal,
): Promise<Piece[]> {
  if (t.logprobs == null) return [{ text: prompt }];
  const ids = ensemble.tokenizer.encode(prompt);
  const s = await ensemble.scoreSequence(prompt, {
    ...t.routing,
    ...mixingOf(m, t.mixing),
    appendEos: false,
    signal,
  });
  const lps = await mixtureLogProbs(
    ensemble,
    [ensemble.tokenizer.eosId, ...ids],
    ids.map((_, i) => ({
      target: i + 1,
      experts: s.routes[i]!.experts,
      weights: Array.from(s.routes[i]!.weights),
    })),
    t.logprobs,
  );
  return ids.map((id, i) => pieceOf(ensemble, ensemble.tokenizer.decode([id]), lps[i]));
}

async function completion(
  m: TaskModels,
  t: CompletionTask,
  signal: AbortSignal,
  emit: (e: TaskEvent) => void,
): Promise<{ promptTokens: number; completionTokens: number }> {
  const ensemble = m.models.get(t.model)!;
  const tok = ensemble.tokenizer;
  let promptTokens = 0;
  let completionTokens = 0;
  for (const [p, prompt] of t.prompts.entries()) {
    promptTokens += tok.encode(prompt).length;
    // The prompt's pieces are the same for each of its n choices: scored once.
    const echoed = t.echo ? await promptPieces(m, ensemble, t, prompt, signal) : null;
    for (let i = 0; i < t.n; i++) {
      const index = p * t.n + i;
      if (echoed) emit({ kind: 'echo', index, pieces: echoed });
      let count = 0;
      for await (const g of ensemble.generate(prompt, {
        maxTokens: t.maxTokens,
        temperature: t.temperature,
        topP: t.topP,
        topK: t.topK,
        seed: t.seed + index,
        stop: t.stop,
        routing: t.routing,
        ...mixingOf(m, t.mixing),
        // The step that sampled each token reports its log-probabilities: no extra pass.
        ...(t.logprobs != null ? { logprobs: t.logprobs } : {}),
        ...decodingOf(m, t.model),
        signal,
      })) {
        count += 1;
        const lp = t.logprobs == null ? undefined : { logProb: g.logProb!, top: g.top! };
        emit({ kind: 'piece', index, piece: pieceOf(ensemble, g.token, lp) });
      }
      completionTokens += count;
      const finishReason = count === t.maxTokens ? 'length' : 'stop';
      emit({ kind: 'choice-done', index, finishReason });
    }
  }
  return { promptTokens, completionTokens };
}
