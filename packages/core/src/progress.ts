/**
 * The one progress event every cbtm stage emits, so one renderer (the CLI's bars, a log line,
 * a web UI) can show any stage.
 *
 * - `stage`: a short name such as `embed`, `cluster`, `train`, `eval`.
 * - `task`: optional sub-task, e.g. `expert-3` while training several experts at once.
 * - `done`/`total`: monotone counters in `unit`s; `total` may be unknown.
 * - `metrics`: numbers worth showing (loss, tokens/s, inertia...).
 *
 * @example
 * ```ts
 * const onProgress = (e: ProgressEvent) => console.log(`${e.stage} ${e.done}/${e.total ?? '?'}`);
 * ```
 */
export interface ProgressEvent {
  readonly stage: string;
  readonly task?: string;
  readonly status: 'start' | 'progress' | 'done';
  readonly done: number;
  readonly total?: number;
  readonly unit?: string;
  readonly message?: string;
  readonly metrics?: Readonly<Record<string, number>>;
}

/**
 * A progress callback. It may be async; producers do not wait for it unless they say so.
 *
 * @example
 * ```ts
 * const cb: ProgressCallback = (e) => { if (e.status === 'done') console.log(e.stage, 'done'); };
 * ```
 */
export type ProgressCallback = (event: ProgressEvent) => void | Promise<void>;

/**
 * Options shared by every long-running cbtm call.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * await fitSomething(data, { signal: ac.signal, onProgress: console.log });
 * ```
 */
export interface LongRunOptions {
  /** Cancels the work; the call rejects with an `AbortError`. */
  readonly signal?: AbortSignal;
  /** Receives progress events. */
  readonly onProgress?: ProgressCallback;
}

/**
 * Small helper that stamps `stage`/`task` on events and never lets `done` go backwards.
 *
 * @example
 * ```ts
 * const p = progressReporter('embed', onProgress, { total: 100, unit: 'docs' });
 * p.start(); p.update(10); p.done();
 * ```
 */
export interface ProgressReporter {
  start(message?: string): void;
  update(
    done: number,
    extra?: { total?: number; message?: string; metrics?: Record<string, number> },
  ): void;
  done(extra?: { message?: string; metrics?: Record<string, number> }): void;
}

/**
 * Creates a {@link ProgressReporter} for one stage.
 *
 * @example
 * ```ts
 * const p = progressReporter('cluster', (e) => console.log(e), { total: 20, unit: 'iter' });
 * p.update(1, { metrics: { inertia: 12.5 } });
 * ```
 */
export function progressReporter(
  stage: string,
  callback: ProgressCallback | undefined,
  init: { task?: string; total?: number; unit?: string } = {},
): ProgressReporter {
  let done = 0;
  let total = init.total;
  const emit = (
    status: ProgressEvent['status'],
    message?: string,
    metrics?: Record<string, number>,
  ) => {
    if (!callback) return;
    const event: ProgressEvent = {
      stage,
      status,
      done,
      ...(init.task !== undefined ? { task: init.task } : {}),
      ...(total !== undefined ? { total } : {}),
      ...(init.unit !== undefined ? { unit: init.unit } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(metrics !== undefined ? { metrics } : {}),
    };
    void callback(event);
  };
  return {
    start: (message) => emit('start', message),
    update: (n, extra = {}) => {
      done = Math.max(done, n);
      if (extra.total !== undefined) total = extra.total;
      emit('progress', extra.message, extra.metrics);
    },
    done: (extra = {}) => {
      if (total !== undefined) done = Math.max(done, total);
      emit('done', extra.message, extra.metrics);
    },
  };
}
