import { InvalidArgumentError } from '@cbtm/core';

/**
 * Perplexity from per-token log-probabilities: exp(mean negative log-likelihood).
 *
 * @example
 * ```ts
 * perplexity([Math.log(0.5), Math.log(0.125)]); // exp((ln 2 + ln 8) / 2) = 4
 * ```
 */
export function perplexity(tokenLogProbs: ArrayLike<number>): number {
  if (tokenLogProbs.length === 0) {
    throw new InvalidArgumentError('Perplexity needs at least one token.');
  }
  let s = 0;
  for (let i = 0; i < tokenLogProbs.length; i++) s -= tokenLogProbs[i]!;
  return Math.exp(s / tokenLogProbs.length);
}

/**
 * Summary of one perplexity measurement.
 *
 * @example
 * ```ts
 * const m: PerplexityStats = { perplexity: 4, nll: Math.log(4), tokens: 2 };
 * ```
 */
export interface PerplexityStats {
  /** exp(nll). */
  readonly perplexity: number;
  /** Mean negative log-likelihood per token, in nats. */
  readonly nll: number;
  /** Tokens scored. */
  readonly tokens: number;
}

/**
 * Sums negative log-likelihoods overall and per domain, token-weighted, so the overall
 * perplexity is exp(total NLL / total tokens) rather than a mean of per-document perplexities.
 *
 * @example
 * ```ts
 * const acc = new PerplexityAccumulator();
 * acc.add([Math.log(0.5)], 'law');
 * acc.overall().perplexity; // 2
 * ```
 */
export class PerplexityAccumulator {
  #nll = 0;
  #tokens = 0;
  readonly #domains = new Map<string, { nll: number; tokens: number }>();

  /** Adds one document's per-token log-probabilities, optionally under a domain label. */
  add(tokenLogProbs: ArrayLike<number>, domain?: string): void {
    let s = 0;
    for (let i = 0; i < tokenLogProbs.length; i++) s -= tokenLogProbs[i]!;
    this.#nll += s;
    this.#tokens += tokenLogProbs.length;
    if (domain !== undefined) {
      const d = this.#domains.get(domain) ?? { nll: 0, tokens: 0 };
      d.nll += s;
      d.tokens += tokenLogProbs.length;
      this.#domains.set(domain, d);
    }
  }

  /** Totals over everything added. */
  overall(): PerplexityStats {
    return stats(this.#nll, this.#tokens);
  }

  /** Totals per domain label, in first-seen order. */
  perDomain(): Record<string, PerplexityStats> {
    const out: Record<string, PerplexityStats> = {};
    for (const [name, d] of this.#domains) out[name] = stats(d.nll, d.tokens);
    return out;
  }
}

function stats(totalNll: number, tokens: number): PerplexityStats {
  const nll = tokens > 0 ? totalNll / tokens : Number.NaN;
  return { perplexity: Math.exp(nll), nll, tokens };
}
