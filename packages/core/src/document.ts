/**
 * One corpus record. `text` is what models see; `domain` is an optional label used only for
 * evaluation (purity, NMI, per-domain perplexity), never by the method itself.
 *
 * @example
 * ```ts
 * const doc: Document = { id: 'kjv:Ge1', text: 'In the beginning...', domain: 'religion' };
 * ```
 */
export interface Document {
  readonly id: string;
  readonly text: string;
  readonly domain?: string;
  readonly [key: string]: unknown;
}
