import { resolve } from 'node:path';
import { type Document, InvalidArgumentError } from '@cbtm/core';
import { readCorpus } from '@cbtm/core/node';
import type { MixingRule } from '@cbtm/ensemble';
import type { CommandContext } from '../cli.js';
import type { StageContext } from '../stages/stage.js';

/** The mixing-rule flags that `cbtm eval`, `generate` and `serve` share. */
export interface MixingFlags {
  /** `distance` (c-BTM), `cached-prior` or `updating-prior` (BTM). */
  readonly mixing?: string;
  /** Held-out documents the cached prior is estimated from. */
  readonly priorCorpus?: string;
  /** How many of them. */
  readonly priorDocs?: number;
}

/** The mixing rule and where its prior comes from. */
export interface ResolvedMixing {
  readonly rule: MixingRule;
  /** The documents to estimate the prior on; null for a uniform start (or distance). */
  readonly prior: {
    readonly docs: () => AsyncIterable<Document>;
    readonly label: string;
    /** A file path, for cache keys; null for the run's own validation documents. */
    readonly path: string | null;
  } | null;
  readonly maxDocuments: number;
}

/** Documents read for the cached prior when `--prior-docs` is not given. */
export const DEFAULT_PRIOR_DOCS = 16;

/**
 * Checks the mixing flags and says where the prior comes from: `--prior-corpus`, or for
 * `cached-prior` without it, the first `--prior-docs` documents of the run's validation corpus.
 * The updating prior starts uniform unless `--prior-corpus` is given.
 */
export function resolveMixingFlags(
  flags: MixingFlags,
  ctx: CommandContext,
  sctx: Pick<StageContext, 'corpus'>,
): ResolvedMixing {
  const rule = (flags.mixing ?? 'distance') as MixingRule;
  if (!['distance', 'cached-prior', 'updating-prior'].includes(rule)) {
    throw new InvalidArgumentError(
      `--mixing must be distance, cached-prior or updating-prior, got "${flags.mixing}".`,
    );
  }
  const maxDocuments = flags.priorDocs ?? DEFAULT_PRIOR_DOCS;
  if (rule === 'distance') {
    if (flags.priorCorpus !== undefined || flags.priorDocs !== undefined) {
      throw new InvalidArgumentError(
        '--prior-corpus and --prior-docs go with --mixing cached-prior or updating-prior.',
      );
    }
    return { rule, prior: null, maxDocuments };
  }
  if (flags.priorCorpus !== undefined) {
    const path = resolve(ctx.cwd, flags.priorCorpus);
    const { readOptions } = sctx.corpus;
    return {
      rule,
      prior: { docs: () => readCorpus(path, readOptions), label: flags.priorCorpus, path },
      maxDocuments,
    };
  }
  if (rule === 'updating-prior') return { rule, prior: null, maxDocuments };
  return {
    rule,
    prior: { docs: () => sctx.corpus.validDocs(), label: sctx.corpus.validLabel, path: null },
    maxDocuments,
  };
}

/** One line naming the prior's source and its weights, for stderr. */
export function describePrior(m: ResolvedMixing, prior: ArrayLike<number>): string {
  const weights = Array.from(prior, (p, j) => `${j}: ${p.toFixed(3)}`).join(', ');
  return `${m.rule}: prior over experts from the first ${m.maxDocuments} documents of ${m.prior!.label} (${weights})`;
}
