import { type RunDir, RunLayout, writeFileAtomic } from '@cbtm/core/node';
import { collectReportData } from './collect-report-data.js';
import { renderReportHtml } from './render-report.js';

/**
 * Writes `<run>/report.html` from what the run directory holds; returns its path.
 *
 * @example
 * ```ts
 * const file = await writeReport(await RunDir.open('runs/demo'));
 * ```
 */
export async function writeReport(
  run: RunDir,
  options: { readonly maxPoints?: number; readonly seed?: number } = {},
): Promise<string> {
  const file = new RunLayout(run.dir).report;
  await writeFileAtomic(file, renderReportHtml(await collectReportData(run, options)));
  return file;
}
