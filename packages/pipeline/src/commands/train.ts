import { CbtmError, type RunDir, RunLayout } from '@cbtm/core/node';
import type { CommandContext } from '../cli.js';
import { runStages, stageContext } from '../run-pipeline.js';
import { STAGES } from '../stages/all-stages.js';
import type { StageName } from '../stages/stage.js';
import { runTrainingStages } from '../stages/training.js';
import { openExistingRun, overridesFrom, rendererFor, summarizeStages } from './shared.js';

/** Flags of `cbtm train`. */
export interface TrainCommandOptions {
  readonly run: string;
  readonly expert?: number;
  readonly all?: boolean;
  readonly dense?: boolean;
  readonly random?: boolean;
  readonly tokens?: number | string;
  readonly workers?: number | string;
  readonly backend?: string;
}

/**
 * `cbtm train`: the tokenizer (if missing), then the experts (all, or one with --expert), and
 * the dense and random-cluster baselines when asked, in one pool of worker processes.
 */
export async function trainCommand(opts: TrainCommandOptions, ctx: CommandContext): Promise<void> {
  const { run, config } = await openExistingRun(
    opts.run,
    ctx,
    overridesFrom(opts, ['tokens', 'workers', 'backend']),
  );
  if (!run.stageDone('shard')) {
    throw new CbtmError(
      'E_STAGE_MISSING',
      `${run.dir} has no shards yet. Run \`cbtm cluster --out ${run.dir}\` first.`,
    );
  }
  const withBaselines = {
    ...config,
    baselines: {
      dense: Boolean(opts.dense) || (config.baselines.dense && run.stageDone('dense')),
      random: Boolean(opts.random) || (config.baselines.random && run.stageDone('random')),
    },
  };
  await run.setConfig(withBaselines);
  const renderer = rendererFor(ctx);
  let reports: Awaited<ReturnType<typeof runStages>>;
  try {
    const sctx = await stageContext(run, withBaselines, {
      signal: ctx.signal,
      onProgress: renderer.onProgress,
      log: renderer.log,
    });
    reports = await runStages(sctx, ['tokenizer']);
    const names: StageName[] = ['seed', 'experts'];
    if (opts.dense) names.push('dense');
    if (opts.random) names.push('random');
    const defs = STAGES.filter((s) => names.includes(s.name));
    reports.push(
      ...(await runTrainingStages(
        sctx,
        defs,
        opts.expert !== undefined ? { experts: [opts.expert] } : {},
      )),
    );
  } finally {
    renderer.stop();
  }
  ctx.stderr.write(`Stages: ${summarizeStages(reports)}.\n`);
  for (const r of reports) {
    const models = (r.info?.models ?? []) as Array<{
      name: string;
      reused: boolean;
      resumedFromStep: number | null;
      steps: number;
    }>;
    for (const m of models) {
      // A reused stage's info is from the call that trained it: its models are trained now.
      const how =
        m.reused || r.status === 'reused'
          ? 'already trained'
          : m.resumedFromStep
            ? `resumed from step ${m.resumedFromStep}`
            : 'trained';
      ctx.stdout.write(`${m.name}: ${how}, ${m.steps} steps\n`);
    }
  }
  const untrained = await untrainedExperts(run);
  if (untrained.length > 0) {
    ctx.stdout.write(
      `Not trained yet: ${untrained.map((j) => `expert-${j}`).join(', ')}.\n` +
        `Next: cbtm train --run ${run.dir} (all of them, or --expert ${untrained[0]} for one), then cbtm eval --run ${run.dir}\n`,
    );
  } else {
    ctx.stdout.write(`Next: cbtm eval --run ${run.dir}\n`);
  }
}

/** Experts whose `train-state.json` does not say done (none once the experts stage is). */
async function untrainedExperts(run: RunDir): Promise<number[]> {
  if (run.stageDone('experts')) return [];
  const { readTrainProgress } = await import('@cbtm/train/node');
  const layout = new RunLayout(run.dir);
  const out: number[] = [];
  for (const j of await layout.shardIds()) {
    if (!(await readTrainProgress(layout.expert(j))).done) out.push(j);
  }
  return out;
}
