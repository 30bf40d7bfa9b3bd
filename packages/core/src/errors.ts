/**
 * The string codes every cbtm error carries. Callers branch on `code`, never on message text.
 *
 * @example
 * ```ts
 * if (err instanceof CbtmError && err.code === 'E_CORPUS_INVALID') console.error(err.message);
 * ```
 */
export type CbtmErrorCode =
  | 'E_INVALID_ARGUMENT'
  | 'E_CORPUS_NOT_FOUND'
  | 'E_CORPUS_EMPTY'
  | 'E_CORPUS_INVALID'
  | 'E_RUN_INVALID'
  | 'E_RUN_VERSION'
  | 'E_STAGE_MISSING'
  | 'E_CONFIG_INVALID'
  | 'E_ABORTED'
  | 'E_BACKEND'
  | 'E_MODEL'
  | 'E_FORMAT'
  | 'E_WORKER'
  | 'E_NO_FILE_SYSTEM';

/** Options accepted by every cbtm error. */
export interface CbtmErrorOptions {
  /** The underlying error, kept for debugging. */
  readonly cause?: unknown;
}

/**
 * Base class of every error cbtm throws: a string `code`, a message that says what to do,
 * and the original `cause`.
 *
 * @example
 * ```ts
 * throw new CbtmError('E_INVALID_ARGUMENT', 'k must be a positive integer, got 0.');
 * ```
 */
export class CbtmError extends Error {
  /** Stable machine-readable code. */
  readonly code: CbtmErrorCode;

  constructor(code: CbtmErrorCode, message: string, options: CbtmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A caller passed a value outside what a function accepts.
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError('topK must be ≥ 1, got 0.');
 * ```
 */
export class InvalidArgumentError extends CbtmError {
  constructor(message: string, options?: CbtmErrorOptions) {
    super('E_INVALID_ARGUMENT', message, options);
  }
}

/** Why one corpus record was rejected. */
export type CorpusIssueReason =
  | 'malformed-json'
  | 'not-an-object'
  | 'missing-text'
  | 'non-string-text'
  | 'empty-text'
  | 'bad-id'
  | 'invalid-utf8'
  | 'truncated-gzip';

/**
 * A corpus record or file is unreadable. The message always names `file:line` and the problem.
 *
 * @example
 * ```ts
 * try { for await (const d of readCorpus('x.jsonl')) {} }
 * catch (e) { if (e instanceof CorpusError) console.log(e.file, e.line, e.reason); }
 * ```
 */
export class CorpusError extends CbtmError {
  /** Path of the offending file. */
  readonly file: string;
  /** 1-based line number, or 0 when the problem is the whole file. */
  readonly line: number;
  /** What is wrong, as a stable tag. */
  readonly reason: CorpusIssueReason;

  constructor(
    file: string,
    line: number,
    reason: CorpusIssueReason,
    detail: string,
    options?: CbtmErrorOptions,
  ) {
    super('E_CORPUS_INVALID', `${file}:${line}: ${detail}`, options);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/**
 * A run directory is missing, corrupt, or written by an incompatible format version.
 *
 * @example
 * ```ts
 * throw new RunDirError('E_RUN_INVALID', 'runs/a/manifest.json is not valid JSON.');
 * ```
 */
export class RunDirError extends CbtmError {}

/**
 * Work was cancelled through an `AbortSignal`.
 *
 * @example
 * ```ts
 * throwIfAborted(signal); // throws AbortError when signal.aborted
 * ```
 */
export class AbortError extends CbtmError {
  constructor(message = 'The operation was aborted.', options?: CbtmErrorOptions) {
    super('E_ABORTED', message, options);
  }
}

/**
 * Throws an {@link AbortError} when `signal` has fired. Call it between batches of long work.
 *
 * @example
 * ```ts
 * for (const batch of batches) { throwIfAborted(signal); work(batch); }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new AbortError('The operation was aborted.', { cause: signal.reason });
  }
}

/**
 * Exhaustiveness guard for string-literal unions.
 *
 * @example
 * ```ts
 * switch (mode) { case 'a': return 1; default: return assertUnreachable(mode); }
 * ```
 */
export function assertUnreachable(value: never, what = 'value'): never {
  throw new InvalidArgumentError(`Unexpected ${what}: ${JSON.stringify(value)}.`);
}
