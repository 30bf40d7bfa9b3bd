import { ModelThread } from './model-thread.js';
import type { WorkerInit } from './worker-protocol.js';

/** Options of {@link WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Model worker threads. @default 1 */
  readonly workers?: number;
  /** Tasks each worker runs at once. @default 1 */
  readonly concurrency?: number;
  /** Gets the workers' log lines (the first worker's) and the pool's own. */
  readonly log: (line: string) => void;
  /**
   * Restarts of one worker allowed within `restartWindowMs`; one more crash in that window
   * leaves it stopped (a run that kills every worker that loads it is not retried forever).
   * @default 3
   */
  readonly maxRestarts?: number;
  /** @default 60_000 */
  readonly restartWindowMs?: number;
  /** Aborts the first start. */
  readonly signal?: AbortSignal;
}

/**
 * The server's model workers: `workers` `ModelThread`s, each running up to `concurrency` tasks.
 * A worker that dies (a crash, an out-of-memory kill) is started again from the run, and the
 * tasks that wait for it run on the new one; its running tasks fail with the crash's error.
 *
 * @example
 * ```ts
 * const pool = await WorkerPool.start({ runDir, maxLoadedExperts: 4, kvCache: true }, { workers: 2, log });
 * const thread = await pool.thread(slot); // waits while that worker restarts
 * ```
 */
export class WorkerPool {
  readonly concurrency: number;
  readonly #threads: ModelThread[];
  readonly #restarting: (Promise<ModelThread> | undefined)[];
  readonly #crashes: number[][];
  readonly #start: (log: (line: string) => void) => Promise<ModelThread>;
  readonly #log: (line: string) => void;
  readonly #maxRestarts: number;
  readonly #windowMs: number;
  #givenUp = new Set<number>();
  #disposed = false;

  private constructor(
    threads: ModelThread[],
    start: (log: (line: string) => void) => Promise<ModelThread>,
    o: Required<Pick<WorkerPoolOptions, 'concurrency' | 'maxRestarts' | 'restartWindowMs' | 'log'>>,
  ) {
    this.#threads = threads;
    this.#start = start;
    this.#log = o.log;
    this.concurrency = o.concurrency;
    this.#maxRestarts = o.maxRestarts;
    this.#windowMs = o.restartWindowMs;
    this.#restarting = threads.map(() => undefined);
    this.#crashes = threads.map(() => []);
    threads.forEach((_, i) => {
      this.#supervise(i);
    });
  }

  /**
   * Starts the workers at once and waits until each has loaded the run; if one fails to load
   * it, ends the others and throws its error.
   */
  static async start(
    init: Omit<WorkerInit, 'cancel'>,
    options: WorkerPoolOptions,
  ): Promise<WorkerPool> {
    const concurrency = options.concurrency ?? 1;
    const start = (log: (line: string) => void, signal?: AbortSignal) =>
      ModelThread.start(init, log, signal, concurrency);
    const started = await Promise.allSettled(
      Array.from({ length: options.workers ?? 1 }, (_, i) =>
        // One backend line in the log, not one per worker.
        start(i === 0 ? options.log : () => undefined, options.signal),
      ),
    );
    const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(threads.map((t) => t.dispose()));
      throw failed.reason;
    }
    return new WorkerPool(threads, (log) => start(log), {
      concurrency,
      log: options.log,
      maxRestarts: options.maxRestarts ?? 3,
      restartWindowMs: options.restartWindowMs ?? 60_000,
    });
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#threads.length;
  }

  /** What the first worker reported once it had loaded the run. */
  get info(): ModelThread['info'] {
    return this.#threads[0]!.info;
  }

  /** True while a worker is being started again after a crash. */
  get restarting(): boolean {
    return this.#restarting.some((p) => p !== undefined);
  }

  /** True once a worker crashed more often than allowed and stays stopped. */
  get failed(): boolean {
    return this.#givenUp.size > 0;
  }

  /**
   * The worker that runs queue slot `slot` (worker `slot mod size`); while it restarts after a
   * crash, resolves once the new one has loaded the run.
   */
  async thread(slot: number): Promise<ModelThread> {
    const i = slot % this.#threads.length;
    return this.#restarting[i] ?? this.#threads[i]!;
  }

  /** Frees the models and ends every worker. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await Promise.all(this.#restarting.map((p) => p?.catch(() => undefined)));
    await Promise.all(this.#threads.map((t) => t.dispose()));
  }

  #supervise(i: number): void {
    this.#threads[i]!.onStop((err) => {
      if (this.#disposed) return;
      const now = Date.now();
      const recent = this.#crashes[i]!.filter((t) => now - t < this.#windowMs);
      recent.push(now);
      this.#crashes[i] = recent;
      if (recent.length > this.#maxRestarts) {
        this.#givenUp.add(i);
        this.#log(
          `Model worker ${i + 1} stopped (${err.message}); not restarting it: ${recent.length} crashes within ${this.#windowMs / 1000} s.`,
        );
        return;
      }
      this.#log(`Model worker ${i + 1} stopped (${err.message}); restarting it.`);
      const restart = this.#start(() => undefined).then(
        (thread) => {
          this.#restarting[i] = undefined;
          if (this.#disposed) {
            void thread.dispose();
            return thread;
          }
          this.#threads[i] = thread;
          this.#supervise(i);
          this.#log(`Model worker ${i + 1} restarted.`);
          return thread;
        },
        (startErr: unknown) => {
          // The run no longer loads: the worker stays stopped, and its tasks get its error.
          this.#restarting[i] = undefined;
          this.#givenUp.add(i);
          this.#log(
            `Model worker ${i + 1} could not be restarted: ${startErr instanceof Error ? startErr.message : String(startErr)}`,
          );
          return this.#threads[i]!;
        },
      );
      this.#restarting[i] = restart;
    });
  }
}
