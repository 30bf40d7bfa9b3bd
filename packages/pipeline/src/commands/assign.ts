import { mkdir, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  CbtmError,
  InvalidArgumentError,
  pathExists,
  RunLayout,
  readCorpus,
  writeJsonAtomic,
} from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { checkCorpusPath, corpusFingerprint, corpusSource } from '../corpus-source.js';
import { openExistingRun, rendererFor } from './shared.js';

/** Flags of `cbtm assign`. */
export interface AssignCommandOptions {
  readonly run: string;
  readonly corpus: string;
  /** Output folder. @default `<run>/assigned/<corpus name>` */
  readonly out?: string;
}

/** The file that marks a folder as written by `cbtm assign`; only such a folder is rewritten. */
export const ASSIGN_MARKER_FILE = 'assign.json';

/** `<out>/assign.json`: what was assigned to which run, and the outcome. */
export interface AssignMarker {
  readonly format: 'cbtm-assign';
  readonly version: 1;
  readonly run: string;
  readonly corpus: { readonly path: string; readonly files: unknown };
  readonly k: number;
  /** False while the assignment is being written. */
  readonly complete: boolean;
  readonly documents?: number;
  readonly sizes?: readonly number[];
  readonly purity?: number | null;
  readonly nmi?: number | null;
  readonly createdAt: string;
}

/** `data/new.jsonl.gz` → `new`. */
function corpusName(path: string): string {
  return basename(path).replace(/\.(jsonl|json|txt)(\.gz)?$/i, '') || 'corpus';
}

/**
 * `cbtm assign --run DIR --corpus NEW [--out DIR]`: assigns every document of a new corpus to
 * the run's clusters, as the official `cluster.py` does for new splits: each document is
 * embedded with the run's fitted embedder and goes to its nearest centroid, streaming, in
 * batches (`@cbtm/cluster`'s `assignCorpus`). Writes `<out>/assignments.jsonl`
 * (`{"id","cluster"}` per document), `<out>/shards/<j>.jsonl.gz`, `<out>/metrics.json`
 * (documents per cluster, inertia, and purity, NMI and the contingency table when the documents
 * carry a `domain` label) and `<out>/assign.json`. The run itself is not changed. An existing
 * `--out` is rewritten only when an earlier `cbtm assign` made it.
 *
 * @example
 * ```ts
 * await assignCommand({ run: 'runs/demo', corpus: 'data/new.jsonl' }, ctx);
 * ```
 */
export async function assignCommand(
  opts: AssignCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const { run, config } = await openExistingRun(opts.run, ctx);
  for (const stage of ['embed', 'cluster']) {
    if (!run.stageDone(stage)) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `${run.dir} has no finished ${stage} stage. Cluster it first (\`cbtm cluster --out ${run.dir}\`).`,
      );
    }
  }
  const corpusPath = resolve(ctx.cwd, opts.corpus);
  const { readOptions } = corpusSource(config);
  await checkCorpusPath(corpusPath, readOptions);
  const layout = new RunLayout(run.dir);
  const out = opts.out
    ? resolve(ctx.cwd, opts.out)
    : layout.path('assigned', corpusName(corpusPath));
  const marker = join(out, ASSIGN_MARKER_FILE);
  if ((await pathExists(out)) && (await readdir(out)).length > 0 && !(await pathExists(marker))) {
    throw new InvalidArgumentError(
      `${out} exists and was not made by cbtm assign (it has no ${ASSIGN_MARKER_FILE}), so it is left alone. Choose another --out, or empty it yourself.`,
    );
  }
  const [{ assignCorpus, loadClusterModel }, { loadEmbedder }] = await Promise.all([
    import('@cbtm/cluster/node'),
    import('@cbtm/embed/node'),
  ]);
  const model = await loadClusterModel(layout.clusters());
  const embedder = await loadEmbedder(layout.embedder);
  const base = {
    format: 'cbtm-assign' as const,
    version: 1 as const,
    run: run.dir,
    corpus: { path: corpusPath, files: await corpusFingerprint(corpusPath) },
    k: model.k,
    createdAt: new Date().toISOString(),
  };
  await mkdir(out, { recursive: true });
  // The marker first: a folder left by a failed call is still recognisably ours, to redo.
  await writeJsonAtomic(marker, { ...base, complete: false } satisfies AssignMarker);
  const renderer = rendererFor(ctx);
  let result: Awaited<ReturnType<typeof assignCorpus>>;
  try {
    result = await assignCorpus(readCorpus(corpusPath, readOptions), model, out, {
      embedder,
      outputs: {
        assignments: 'assignments.jsonl',
        metrics: 'metrics.json',
        shard: (j) => join('shards', `${j}.jsonl.gz`),
      },
      signal: ctx.signal,
      onProgress: renderer.onProgress,
    });
  } finally {
    renderer.stop();
  }
  const labels = result.metrics.labels;
  const purity = labels ? labels.purity : null;
  const nmi = labels ? Math.min(1, labels.nmi) : null;
  await writeJsonAtomic(marker, {
    ...base,
    complete: true,
    documents: result.documents,
    sizes: Array.from(result.sizes),
    purity,
    nmi,
  } satisfies AssignMarker);
  const quality =
    purity !== null
      ? `; purity ${purity.toFixed(3)}, NMI ${nmi!.toFixed(3)} against the "${labels!.field}" labels`
      : '';
  ctx.stdout.write(
    `Assigned ${result.documents} documents to k = ${model.k} clusters: ${Array.from(result.sizes).join(' / ')}${quality}.\n` +
      `Assignments, shards and metrics: ${out}\n`,
  );
}
