import { RunLayout, readJsonFile } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { loadConfig } from '../config/load-config.js';
import { formatSkipped, type SkippedRecords } from '../corpus-source.js';
import { checkCorpora, runStages, stageContext, withRun } from '../run-pipeline.js';
import type { ClusterMetricsFile } from '../stages/cluster-files.js';
import { overridesFrom, rendererFor, summarizeStages } from './shared.js';

/** Flags of `cbtm cluster`. */
export interface ClusterCommandOptions {
  readonly config?: string;
  readonly corpus?: string;
  readonly k?: number | string;
  readonly balanceSlack?: number | string;
  readonly out?: string;
  readonly embedder?: string;
  readonly model?: string;
  readonly sample?: number | string;
  readonly seed?: number | string;
  readonly skipInvalid?: boolean;
}

/** `cbtm cluster`: embed, fit, assign, shard, metrics. */
export async function clusterCommand(
  opts: ClusterCommandOptions,
  ctx: CommandContext,
): Promise<void> {
  const { config } = await loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    cwd: ctx.cwd,
    overrides: overridesFrom(opts, [
      'corpus',
      'k',
      'out',
      'embedder',
      'model',
      'sample',
      'balanceSlack',
      'seed',
      'skipInvalid',
    ]),
  });
  await checkCorpora(config);
  const renderer = rendererFor(ctx);
  const { run, reports } = await withRun(
    config,
    async (run) => {
      try {
        const sctx = await stageContext(run, config, {
          signal: ctx.signal,
          onProgress: renderer.onProgress,
          log: renderer.log,
        });
        return { run, reports: await runStages(sctx, ['embed', 'cluster', 'shard']) };
      } finally {
        renderer.stop();
      }
    },
    ctx.signal,
  );
  ctx.stderr.write(`Stages: ${summarizeStages(reports)}.\n`);
  const layout = new RunLayout(run.dir);
  const metrics = await readJsonFile<ClusterMetricsFile>(layout.clusters('metrics.json'));
  const quality =
    metrics.purity !== null && metrics.purity !== undefined
      ? `; purity ${metrics.purity.toFixed(3)}, NMI ${metrics.nmi?.toFixed(3) ?? 'n/a'} against the domain labels`
      : '';
  const skipped = run.stage('embed')?.info?.skipped as SkippedRecords | undefined;
  const skippedLine = skipped
    ? formatSkipped(skipped, config.corpus.train ?? 'the demo corpus')
    : null;
  const heldOut = (run.stage('shard')?.info?.heldOut as number | undefined) ?? 0;
  if (skippedLine) ctx.stderr.write(`Corpus: ${skippedLine}\n`);
  ctx.stdout.write(
    `Clustered ${metrics.documents} documents into k = ${metrics.k} clusters of sizes ${metrics.sizes.join(' / ')}${quality}.\n` +
      (heldOut > 0
        ? `The ${heldOut} documents held out for validation are assigned too, marked "heldOut": true in ${layout.clusters('assignments.jsonl')}.\n`
        : '') +
      `Shards: ${layout.shards}\nNext: cbtm train --run ${run.dir}\n`,
  );
}
