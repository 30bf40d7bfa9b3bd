import { InvalidArgumentError } from '@cbtm/core';
import { MIXING_RULES, type MixingRule } from '@cbtm/ensemble';

/** Throws an `InvalidArgumentError` naming the first out-of-range option. */
export function checkServeOptions(o: {
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxGenerateTokens: number;
  readonly maxRequestTokens: number;
  readonly maxTextChars: number;
  readonly maxQueue: number;
  readonly workers: number;
  readonly requestsPerWorker: number;
  readonly requestTimeoutMs: number;
  readonly mixing: MixingRule;
  readonly prior?: readonly number[];
  readonly priorDocuments?: unknown;
  readonly apiKey?: string;
  readonly slideStride?: number;
}): void {
  if (o.slideStride !== undefined && !(Number.isInteger(o.slideStride) && o.slideStride > 0)) {
    throw new InvalidArgumentError(`slideStride must be a positive integer, got ${o.slideStride}.`);
  }
  if (o.apiKey !== undefined && o.apiKey.trim().length < 8) {
    throw new InvalidArgumentError('apiKey must have at least 8 characters.');
  }
  if (o.apiKey !== undefined && /\s/.test(o.apiKey)) {
    throw new InvalidArgumentError('apiKey must have no spaces.');
  }
  if (!MIXING_RULES.includes(o.mixing)) {
    throw new InvalidArgumentError(
      `mixing must be one of ${MIXING_RULES.join(', ')}, got ${JSON.stringify(o.mixing)}.`,
    );
  }
  if (o.prior !== undefined && o.priorDocuments !== undefined) {
    throw new InvalidArgumentError('Give prior or priorDocuments, not both.');
  }
  if (o.mixing === 'cached-prior' && o.prior === undefined && o.priorDocuments === undefined) {
    throw new InvalidArgumentError(
      "mixing 'cached-prior' needs a prior: give prior (one weight per expert) or priorDocuments.",
    );
  }
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new InvalidArgumentError(`port must be an integer in 0..65535, got ${o.port}.`);
  }
  if (!(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes > 0)) {
    throw new InvalidArgumentError(
      `maxBodyBytes must be a positive integer, got ${o.maxBodyBytes}.`,
    );
  }
  for (const name of [
    'maxGenerateTokens',
    'maxRequestTokens',
    'maxTextChars',
    'workers',
    'requestsPerWorker',
  ] as const) {
    if (!(Number.isInteger(o[name]) && o[name] > 0)) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${o[name]}.`);
    }
  }
  for (const name of ['maxQueue', 'requestTimeoutMs'] as const) {
    if (!(Number.isInteger(o[name]) && o[name] >= 0)) {
      throw new InvalidArgumentError(`${name} must be an integer ≥ 0, got ${o[name]}.`);
    }
  }
}
