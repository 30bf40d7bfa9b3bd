import { CbtmError, type CbtmErrorCode } from '@cbtm/core';

/**
 * Exit codes of the `cbtm` CLI, by the kind of problem.
 *
 * @example
 * ```ts
 * process.exitCode = EXIT_CODES.usage;
 * ```
 */
export const EXIT_CODES = Object.freeze({
  ok: 0,
  /** A bug or an unexpected failure (the message says to rerun with --verbose). */
  internal: 1,
  /** Bad flags, bad arguments, bad config. */
  usage: 2,
  /** The corpus is missing, empty or unreadable. */
  corpus: 3,
  /** The run directory is missing, corrupt, from another format version, or lacks a stage. */
  run: 4,
  /** A model, backend, file format or worker failed. */
  runtime: 5,
  /** Stopped by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
});

const BY_CODE: Readonly<Record<CbtmErrorCode, number>> = {
  E_INVALID_ARGUMENT: EXIT_CODES.usage,
  E_CONFIG_INVALID: EXIT_CODES.usage,
  E_CORPUS_NOT_FOUND: EXIT_CODES.corpus,
  E_CORPUS_EMPTY: EXIT_CODES.corpus,
  E_CORPUS_INVALID: EXIT_CODES.corpus,
  E_RUN_INVALID: EXIT_CODES.run,
  E_RUN_VERSION: EXIT_CODES.run,
  E_STAGE_MISSING: EXIT_CODES.run,
  E_ABORTED: EXIT_CODES.interrupted,
  E_BACKEND: EXIT_CODES.runtime,
  E_MODEL: EXIT_CODES.runtime,
  E_FORMAT: EXIT_CODES.runtime,
  E_WORKER: EXIT_CODES.runtime,
  E_NO_FILE_SYSTEM: EXIT_CODES.runtime,
};

/**
 * The exit code for an error: {@link EXIT_CODES} by `CbtmError.code`, `internal` for anything else.
 *
 * @example
 * ```ts
 * exitCodeFor(new CbtmError('E_CORPUS_EMPTY', 'x')); // 3
 * ```
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CbtmError) return BY_CODE[error.code] ?? EXIT_CODES.internal;
  return EXIT_CODES.internal;
}

/**
 * One line for the terminal: the message with newlines folded, so a failed command prints a
 * single `cbtm: error: ...` line and no stack trace.
 *
 * @example
 * ```ts
 * oneLine(new Error('a\n  b')); // 'a b'
 * ```
 */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
