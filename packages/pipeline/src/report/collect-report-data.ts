import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { deriveSeed, pathExists, Rng, type RunDir, RunLayout, readJsonFile } from '@cbtm/core/node';
import type { EvalResults } from '../results.js';
import { readEmbeddings } from '../stages/embeddings-file.js';
import type { EmbeddingMap, LossCurve, ReportData } from './report-data.js';

/**
 * `<run>/clusters/assignments.jsonl` as the training documents' cluster ids, in corpus order
 * (the rows of `<run>/embeddings/`); the held-out validation documents after them are left out.
 */
export async function readAssignments(file: string): Promise<Int32Array> {
  const out: number[] = [];
  const lines = createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as { cluster: number; heldOut?: boolean };
    if (row.heldOut !== true) out.push(row.cluster);
  }
  return Int32Array.from(out);
}

/** The parts of `train-state.json` the report draws; older files may lack some. */
interface TrainStateLike {
  readonly backend?: string;
  readonly tokens?: number;
  readonly initFrom?: string | null;
  readonly config?: { readonly contextLength?: number };
  readonly hyperparameters?: { readonly batchSize?: number };
  readonly history?: ReadonlyArray<{
    readonly step: number;
    readonly loss: number;
    readonly valLoss?: number;
  }>;
}

async function lossCurve(
  dir: string,
  name: string,
  group: LossCurve['group'],
): Promise<LossCurve | null> {
  const { readTrainStateIfPresent } = await import('@cbtm/train/node');
  const state: TrainStateLike | null = await readTrainStateIfPresent(dir);
  if (!state) return null;
  const perStep = (state.hyperparameters?.batchSize ?? 1) * (state.config?.contextLength ?? 1);
  const history = state.history ?? [];
  // A model branched from the seed continues the seed's curve: count the seed's tokens too.
  let offset = 0;
  if (state.initFrom) {
    const seed: TrainStateLike | null = await readTrainStateIfPresent(state.initFrom);
    offset = seed?.tokens ?? 0;
  }
  return {
    name,
    group,
    train: history.map((h) => [offset + h.step * perStep, h.loss] as const),
    valid: history
      .filter((h) => h.valLoss !== undefined)
      .map((h) => [offset + h.step * perStep, h.valLoss!] as const),
  };
}

/** Loss curves of the seed, every expert, the dense model and the random-cluster experts. */
export async function collectLossCurves(
  run: RunDir,
): Promise<{ curves: LossCurve[]; backend: string | null }> {
  const { readTrainStateIfPresent } = await import('@cbtm/train/node');
  const layout = new RunLayout(run.dir);
  const curves: LossCurve[] = [];
  const add = (c: LossCurve | null) => {
    if (c) curves.push(c);
  };
  add(await lossCurve(layout.seed, 'seed', 'seed'));
  for (const j of await layout.expertIds())
    add(await lossCurve(layout.expert(j), `expert ${j}`, 'expert'));
  add(await lossCurve(layout.dense, 'dense', 'dense'));
  for (const j of await layout.randomExpertIds()) {
    add(await lossCurve(layout.randomExpert(j), `random ${j}`, 'random'));
  }
  let backend: string | null = null;
  for (const dir of [layout.dense, layout.expert(0)]) {
    const state: TrainStateLike | null = await readTrainStateIfPresent(dir);
    if (state) {
      backend = state.backend ?? null;
      if (backend) break;
    }
  }
  return { curves, backend };
}

/**
 * Gathers what the report shows from a run directory; parts whose stage has not run are null.
 *
 * @example
 * ```ts
 * const html = renderReportHtml(await collectReportData(await RunDir.open('runs/demo')));
 * ```
 */
export async function collectReportData(
  run: RunDir,
  options: { readonly maxPoints?: number; readonly seed?: number } = {},
): Promise<ReportData> {
  const maxPoints = options.maxPoints ?? 3000;
  const layout = new RunLayout(run.dir);
  const results = (await pathExists(layout.evalResults))
    ? await readJsonFile<EvalResults>(layout.evalResults)
    : null;
  const metricsFile = layout.clusters('metrics.json');
  const metrics = (await pathExists(metricsFile))
    ? await readJsonFile<{ sizes?: number[]; topTerms?: string[][] }>(metricsFile)
    : null;
  const assignmentsFile = layout.clusters('assignments.jsonl');
  const assignments = (await pathExists(assignmentsFile))
    ? await readAssignments(assignmentsFile)
    : null;
  const embeddings = (await pathExists(run.path('embeddings', 'index.json')))
    ? await readEmbeddings(run)
    : null;

  const { clusterSizes: sizesOf, contingencyTable, projectTo2d } = await import('@cbtm/cluster');
  let contingency: ReportData['contingency'] = null;
  let embeddingMap: EmbeddingMap | null = null;
  const clusterSizes =
    metrics?.sizes ??
    (assignments
      ? sizesOf(
          assignments,
          assignments.reduce((k, c) => Math.max(k, c + 1), 0),
        )
      : null);
  if (embeddings && assignments && assignments.length === embeddings.index.n) {
    const domains = embeddings.index.domains;
    const domainIndex = new Map(domains.map((d, i) => [d, i]));
    const k = clusterSizes?.length ?? assignments.reduce((m, c) => Math.max(m, c + 1), 0);
    if (domains.length > 0) {
      // Documents without a domain label are left out of the table.
      const labeled = embeddings.domains.flatMap((dom, i) => (dom === undefined ? [] : [i]));
      const table = contingencyTable(
        labeled.map((i) => embeddings.domains[i]!),
        labeled.map((i) => assignments[i]!),
        k,
      );
      contingency = { domains: table.labels, counts: table.counts };
    }
    const { n, dimension: d } = embeddings.index;
    const xy = projectTo2d(embeddings.vectors, n, d);
    let rows = Array.from({ length: n }, (_, i) => i);
    if (n > maxPoints) {
      rows = new Rng(deriveSeed(options.seed ?? 0, 'report-map'))
        .shuffle(rows)
        .slice(0, maxPoints)
        .sort((a, b) => a - b);
    }
    const round = (x: number) => Math.round(x * 1e4) / 1e4;
    embeddingMap = {
      method: 'first two principal components of the document embeddings',
      domains,
      total: n,
      points: rows.map((i) => {
        const dom = embeddings.domains[i];
        return [
          round(xy[2 * i]!),
          round(xy[2 * i + 1]!),
          assignments[i]!,
          dom === undefined ? -1 : domainIndex.get(dom)!,
          embeddings.ids[i]!,
        ] as const;
      }),
    };
  }
  const { curves, backend } = await collectLossCurves(run);
  return {
    title: 'cbtm run report',
    runDir: run.dir,
    generatedAt: new Date().toISOString(),
    config: run.manifest.config,
    backend: results?.backend ?? backend,
    clusterSizes,
    topTerms: metrics?.topTerms ?? null,
    contingency,
    embeddingMap,
    lossCurves: curves,
    results,
    stages: Object.entries(run.manifest.stages).map(([name, s]) => ({
      name,
      completedAt: s.completedAt,
      ...(s.info ? { info: s.info } : {}),
    })),
  };
}
