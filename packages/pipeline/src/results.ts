import type { EvalResults as EnsembleEvalResults, MethodResult } from '@cbtm/ensemble';

export type { MethodResult };

/** Cluster quality against the corpus's domain labels (from `<run>/clusters/metrics.json`). */
export interface ClusterQuality {
  readonly k: number;
  /** Documents per cluster. */
  readonly sizes: readonly number[];
  /** null when the corpus has no domain labels. */
  readonly purity: number | null;
  readonly nmi: number | null;
}

/**
 * `<run>/eval/results.json`: `@cbtm/ensemble`'s evaluation results (perplexity per method,
 * overall and per domain) plus the cluster quality and the routing temperature. `cbtm run`
 * prints its table at the end; `cbtm eval --json` prints it as is.
 *
 * @example
 * ```ts
 * const results = await readJsonFile<EvalResults>(run.path('eval', 'results.json'));
 * console.log(results.methods['cbtm-top2']?.perplexity);
 * ```
 */
export interface EvalResults extends EnsembleEvalResults {
  /** Routing temperature T of the c-BTM methods. */
  readonly temperature: number;
  readonly clusters: ClusterQuality | null;
}

/**
 * The display name of a method: `c-BTM top-2`, `c-BTM all`, `dense`, `random clusters`.
 *
 * @example
 * ```ts
 * methodLabel('cbtm-top1'); // 'c-BTM top-1'
 * ```
 */
export function methodLabel(name: string): string {
  const top = /^cbtm-top(\d+)$/.exec(name);
  if (top) return `c-BTM top-${top[1]}`;
  if (name === 'cbtm-all') return 'c-BTM all';
  if (name === 'random' || name === 'random-all') return 'random clusters';
  return name;
}

function fmt(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toFixed(digits);
}

/**
 * The results table printed at the end of `cbtm run` and by `cbtm eval`: perplexity per method
 * (with the change against dense), cluster purity and NMI, and the report path.
 *
 * @example
 * ```ts
 * process.stdout.write(formatResultsTable(results, { report: 'runs/demo/report.html' }));
 * ```
 */
export function formatResultsTable(
  results: EvalResults,
  extra: { readonly report?: string | null } = {},
): string {
  const methods = Object.entries(results.methods);
  const dense = results.methods.dense;
  const rows: string[][] = [['method', 'perplexity', 'vs dense', 'experts/doc']];
  for (const [name, m] of methods) {
    const delta =
      dense && name !== 'dense'
        ? `${m.perplexity > dense.perplexity ? '+' : ''}${fmt((100 * (m.perplexity - dense.perplexity)) / dense.perplexity, 1)}%`
        : '';
    rows.push([methodLabel(name), fmt(m.perplexity), delta, fmt(m.expertsPerDocument, 1)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    `  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')}`.trimEnd();
  const corpus = results.corpus.name ?? 'the validation corpus';
  const out = [
    `Perplexity on ${corpus}: ${results.corpus.documents} documents, ${results.tokens} tokens (backend ${results.backend}, routing T = ${results.temperature}):`,
    line(rows[0]!),
    `  ${widths.map((w) => '─'.repeat(w)).join('   ')}`,
    ...rows.slice(1).map(line),
  ];
  const c = results.clusters;
  if (c) {
    out.push(
      '',
      `Clusters: k = ${c.k}, sizes ${c.sizes.join(' / ')}; purity ${fmt(c.purity, 3)}, NMI ${fmt(c.nmi, 3)} against the domain labels.`,
    );
  }
  if (extra.report) out.push('', `Report: ${extra.report}`);
  return `${out.join('\n')}\n`;
}
