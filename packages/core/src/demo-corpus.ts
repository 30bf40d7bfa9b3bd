import { fileURLToPath } from 'node:url';

/** Paths of the built-in demo corpus (5 domains, ~2 MB of text, with a `domain` label). */
export interface DemoCorpusPaths {
  readonly train: string;
  readonly valid: string;
  /** The corpus README with each source's license and notices. */
  readonly readme: string;
}

/**
 * The built-in demo corpus shipped with `@cbtm/core` (religion, legal, manuals, dictionary,
 * pydocs). It is the default corpus of `cbtm run`.
 *
 * @example
 * ```ts
 * const { train, valid } = demoCorpusPaths();
 * for await (const doc of readCorpus(train, { limit: 3 })) console.log(doc.domain);
 * ```
 */
export function demoCorpusPaths(): DemoCorpusPaths {
  const at = (name: string) => fileURLToPath(new URL(`../data/demo/${name}`, import.meta.url));
  return { train: at('train.jsonl.gz'), valid: at('valid.jsonl.gz'), readme: at('README.md') };
}

/**
 * The demo corpus's training split, the default corpus.
 *
 * @example
 * ```ts
 * const corpus = readCorpus(demoCorpusPath());
 * ```
 */
export function demoCorpusPath(): string {
  return demoCorpusPaths().train;
}
