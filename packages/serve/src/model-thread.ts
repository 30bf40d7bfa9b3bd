import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortError, CbtmError, type CbtmErrorCode } from '@cbtm/core';
import type {
  FromWorker,
  SerializedError,
  Task,
  TaskEvent,
  ToWorker,
  WorkerInit,
  WorkerReady,
} from './worker-protocol.js';

/**
 * The compiled worker script beside this module. Under a test runner this module is the `.ts`
 * source, and a worker thread cannot load TypeScript, so it takes the built file in `dist/`.
 */
function workerScript(): string {
  const here = import.meta.url;
  const url = new URL('./model-worker.js', here);
  if (here.endsWith('.ts')) url.pathname = url.pathname.replace(/\/src\/(?!.*\/src\/)/, '/dist/');
  return fileURLToPath(url);
}

/** An error from the worker as an error of this thread (an `AbortError` stays one). */
function revive(e: SerializedError): Error {
  const err =
    e.code === 'E_ABORTED'
      ? new AbortError(e.message)
      : e.code !== undefined
        ? new CbtmError(e.code as CbtmErrorCode, e.message)
        : new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

interface Running {
  readonly id: number;
  /** Its cancel cell. */
  readonly cell: number;
  readonly onEvent: ((e: TaskEvent) => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The main thread's handle on the model worker: one `worker_threads` Worker that loads the run
 * once and runs up to `concurrency` tasks at once (the caller's `WorkQueue` keeps it to that),
 * each with its own cancel cell.
 */
export class ModelThread {
  readonly info: WorkerReady;
  /** Tasks it runs at once. */
  readonly concurrency: number;
  readonly #worker: Worker;
  readonly #cancel: Int32Array;
  /** Running tasks by id. */
  readonly #running = new Map<number, Running>();
  #nextId = 1;
  #stopped: Error | undefined;
  #disposed: Promise<void> | undefined;
  readonly #onStop: ((err: Error) => void)[] = [];

  private constructor(worker: Worker, cancel: Int32Array, info: WorkerReady) {
    this.#worker = worker;
    this.#cancel = cancel;
    this.concurrency = cancel.length;
    this.info = info;
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => {
      if (!this.#disposed) this.#fail(new Error(`The model worker exited with code ${code}.`));
    });
  }

  /**
   * Starts the worker and waits until it has loaded the run; `log` gets its log lines. It runs up
   * to `concurrency` tasks at once.
   */
  static async start(
    init: Omit<WorkerInit, 'cancel'>,
    log: (line: string) => void,
    signal?: AbortSignal,
    concurrency = 1,
  ): Promise<ModelThread> {
    if (!(Number.isInteger(concurrency) && concurrency > 0)) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}.`);
    }
    const cancel = new SharedArrayBuffer(4 * concurrency);
    const worker = new Worker(workerScript(), {
      workerData: { ...init, cancel } satisfies WorkerInit,
    });
    const onLog = (m: FromWorker) => {
      if (m.type === 'log') log(m.line);
    };
    worker.on('message', onLog);
    // Only this function's own listeners come off: a Worker keeps internal ones of its own.
    const listeners: [string, Parameters<Worker['on']>[1]][] = [];
    const on = (event: string, fn: Parameters<Worker['on']>[1]) => {
      worker.on(event, fn);
      listeners.push([event, fn]);
    };
    let onAbort: (() => void) | undefined;
    try {
      const info = await new Promise<WorkerReady>((ok, fail) => {
        on('message', (m: FromWorker) => {
          if (m.type === 'ready') ok(m);
          else if (m.type === 'init-failed') fail(revive(m.error));
        });
        on('error', fail);
        on('exit', (code: number) =>
          fail(new Error(`The model worker exited with code ${code} while loading the run.`)),
        );
        onAbort = () => fail(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      return new ModelThread(worker, new Int32Array(cancel), info);
    } catch (err) {
      worker.off('message', onLog);
      await worker.terminate();
      throw err;
    } finally {
      for (const [event, fn] of listeners) worker.off(event, fn);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Why the worker stopped unexpectedly, if it did. */
  get stopped(): Error | undefined {
    return this.#stopped;
  }

  /** Calls `fn` once if the worker stops unexpectedly (it crashed or was killed; not `dispose`). */
  onStop(fn: (err: Error) => void): void {
    if (this.#stopped) fn(this.#stopped);
    else this.#onStop.push(fn);
  }

  /**
   * Ends the worker at once, as a crash would: its running tasks reject, and `onStop` listeners
   * are told. For supervisors (and their tests); `dispose` is the orderly way.
   */
  async kill(): Promise<void> {
    if (this.#stopped || this.#disposed) return;
    const exited = new Promise<void>((ok) => this.#worker.once('exit', () => ok()));
    await this.#worker.terminate();
    await exited;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Runs `task` in the worker; `onEvent` gets its events as the worker posts them. Settles when
   * the worker has finished it: when `signal` aborts, the worker stops at its next check (between
   * tokens, or between expert passes) and this rejects with an `AbortError`. Throws when
   * `concurrency` tasks are running already.
   */
  run<R>(task: Task, signal?: AbortSignal, onEvent?: (e: TaskEvent) => void): Promise<R> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    if (this.#disposed) return Promise.reject(new AbortError('The model worker is shut down.'));
    const busy = new Set([...this.#running.values()].map((r) => r.cell));
    const cell = Array.from({ length: this.concurrency }, (_, i) => i).find((i) => !busy.has(i));
    if (cell === undefined) {
      throw new Error(`ModelThread runs at most ${this.concurrency} tasks at once.`);
    }
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => Atomics.store(this.#cancel, cell, id);
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#running.delete(id);
      };
      this.#running.set(id, {
        id,
        cell,
        onEvent,
        resolve: (v) => {
          cleanup();
          resolve(v as R);
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      });
      this.#worker.postMessage({ type: 'task', id, cell, task } satisfies ToWorker);
      if (signal?.aborted) onAbort();
    });
  }

  /** Frees the models and ends the worker. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      if (this.#stopped) return;
      const exited = new Promise<void>((ok) => this.#worker.once('exit', () => ok()));
      this.#worker.postMessage({ type: 'dispose' });
      const timeout = new Promise<'timeout'>((ok) =>
        setTimeout(() => ok('timeout'), 10_000).unref(),
      );
      if ((await Promise.race([exited, timeout])) === 'timeout') await this.#worker.terminate();
    })();
    return this.#disposed;
  }

  #onMessage(m: FromWorker): void {
    if (m.type !== 'event' && m.type !== 'done' && m.type !== 'failed') return;
    const r = this.#running.get(m.id);
    if (!r) return;
    if (m.type === 'event') r.onEvent?.(m.event);
    else if (m.type === 'done') r.resolve(m.value);
    else r.reject(revive(m.error));
  }

  #fail(err: Error): void {
    if (this.#stopped) return;
    this.#stopped = err;
    for (const r of [...this.#running.values()]) r.reject(err);
    for (const fn of this.#onStop.splice(0)) fn(err);
  }
}
