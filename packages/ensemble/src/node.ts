// The file-system side of @cbtm/ensemble: opening a run directory and saving evaluation results.
// It re-exports the main entry (index.ts), which stays free of node: modules so a browser can
// import it, so Node.js code needs one import.

export { writeEvalResults } from './eval-results-file.js';
export {
  EXPERT_SET_FILE,
  type ExpertSetChange,
  expertSetPath,
  REMOVED_EXPERTS_DIR,
  readExpertSet,
  removeExpert,
  restoreExpert,
} from './expert-set-file.js';
export * from './index.js';
export {
  defaultLoadRunOptions,
  type LoadedRun,
  type LoadRunOptions,
  loadRun,
} from './load-run.js';
