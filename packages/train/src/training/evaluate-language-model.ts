import type { GptModel } from '../model/gpt-model.js';
import { collectTokens, evaluationRows } from './packed-blocks.js';
import type { TextSource, TextTokenizer } from './text-source.js';
import { evaluateLoss } from './train-step.js';

/**
 * Options of {@link evaluateLanguageModel}.
 *
 * @example
 * ```ts
 * await evaluateLanguageModel(model, 'valid.jsonl.gz', tokenizer, { tokens: 65_536 });
 * ```
 */
export interface EvaluateLanguageModelOptions {
  /** Tokens to score, from the start of the data. @default 8192 */
  readonly tokens?: number;
  /** Rows per forward pass. @default 16 */
  readonly batchSize?: number;
}

/**
 * Default {@link EvaluateLanguageModelOptions}.
 *
 * @example
 * ```ts
 * await evaluateLanguageModel(model, data, tokenizer, defaultEvaluateOptions);
 * ```
 */
export const defaultEvaluateOptions = {
  tokens: 8192,
  batchSize: 16,
} as const satisfies EvaluateLanguageModelOptions;

/**
 * Mean next-token loss (nats per token) of `model` on the first `tokens` tokens of `data`,
 * packed into context-length rows as in training (documents joined by the end-of-document id).
 *
 * @example
 * ```ts
 * const { loss, tokens } = await evaluateLanguageModel(model, 'valid.jsonl.gz', tokenizer);
 * console.log(Math.exp(loss)); // perplexity per token
 * ```
 */
export async function evaluateLanguageModel(
  model: GptModel,
  data: TextSource,
  tokenizer: TextTokenizer,
  options: EvaluateLanguageModelOptions = {},
): Promise<{ loss: number; tokens: number }> {
  const o = { ...defaultEvaluateOptions, ...options };
  const held = await collectTokens(data, tokenizer, o.tokens + 1);
  const rows = evaluationRows(held.tokens, model.config.contextLength, tokenizer.eosId);
  const scored = Math.max(0, held.tokens.length - 1);
  return {
    loss: evaluateLoss(model, rows.inputs, rows.targets, rows.rows, o.batchSize),
    tokens: scored,
  };
}
