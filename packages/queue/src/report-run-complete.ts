import { RunLayout } from '@cbtm/core/node';

/** Logs once every expert of the run is trained, with the command that records the stage. */
export async function reportRunComplete(
  runDir: string,
  log: (line: string) => void,
): Promise<void> {
  const { readTrainProgress } = await import('@cbtm/train/node');
  const layout = new RunLayout(runDir);
  const experts = await layout.shardIds();
  const states = await Promise.all(experts.map((j) => readTrainProgress(layout.expert(j))));
  if (experts.length > 0 && states.every((s) => s.done)) {
    log(
      `All ${experts.length} experts of ${runDir} are trained. Record the stage with \`cbtm train --run ${runDir}\` (it trains nothing more), then \`cbtm eval --run ${runDir}\`.`,
    );
  }
}
