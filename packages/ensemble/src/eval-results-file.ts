import { RunLayout, writeJsonAtomic } from '@cbtm/core/node';
import type { EvalResults } from './evaluate.js';

/**
 * Saves evaluation results as `<run>/eval/results.json` (written to a temp file, then renamed)
 * and returns the file's path. Results with extra fields (the pipeline adds some) keep them.
 *
 * @example
 * ```ts
 * const file = await writeEvalResults('runs/demo', await evaluate(scorersFor(run), docs));
 * ```
 */
export async function writeEvalResults(runDir: string, results: EvalResults): Promise<string> {
  const file = new RunLayout(runDir).evalResults;
  await writeJsonAtomic(file, results);
  return file;
}
