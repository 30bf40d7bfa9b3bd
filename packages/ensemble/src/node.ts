// The file-system side of @cbtm/ensemble: opening a run directory and saving evaluation results.
// The main entry (index.ts) stays free of node: modules so a browser can import it.
export { writeEvalResults } from './eval-results-file.js';
export {
  defaultLoadRunOptions,
  type LoadedRun,
  type LoadRunOptions,
  loadRun,
} from './load-run.js';
