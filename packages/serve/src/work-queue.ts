/**
 * The queue is full: the task was refused at once. `retryAfterSeconds` estimates when a place
 * frees up (the tasks ahead of it, at the mean task time so far).
 *
 * @example
 * ```ts
 * queue.run(task).catch((err) => { if (err instanceof QueueFullError) wait(err.retryAfterSeconds); });
 * ```
 */
export class QueueFullError extends Error {
  readonly retryAfterSeconds: number;

  constructor(waiting: number, retryAfterSeconds: number) {
    super(
      `The server is busy: ${waiting} request${waiting === 1 ? ' is' : 's are'} already waiting for the model. Retry after ${retryAfterSeconds} s, or start the server with a deeper queue (maxQueue, --max-queue).`,
    );
    this.name = 'QueueFullError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Tasks that run at once, each in its own slot (0 … slots − 1). @default 1 */
  readonly slots?: number;
  /** Tasks that may wait while every slot is busy; one more is refused with a `QueueFullError`. @default Infinity */
  readonly maxWaiting?: number;
}

interface Waiter {
  readonly task: (signal: AbortSignal | undefined, slot: number) => Promise<unknown>;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

/**
 * Runs async tasks in the order they were queued, at most `slots` at once (each told its slot),
 * with at most `maxWaiting` tasks waiting. The server puts every request's model work through one
 * of these, one slot per model worker, so a worker runs one request at a time and a burst cannot
 * pile up without bound.
 *
 * A task whose `signal` aborts while it waits leaves the queue at once. One that aborts while it
 * runs rejects its caller at once (with the signal's reason), but keeps its slot until it has
 * really stopped, so the next task never overlaps it there.
 *
 * @example
 * ```ts
 * const queue = new WorkQueue({ maxWaiting: 8 });
 * const [a, b] = await Promise.all([queue.run(() => score('x')), queue.run(() => score('y'))]);
 * ```
 */
export class WorkQueue {
  readonly #maxWaiting: number;
  readonly #waiting: Waiter[] = [];
  /** The slots no task holds. */
  readonly #free: number[];
  readonly #slots: number;
  #onIdle: (() => void)[] = [];
  /** Mean duration of the finished tasks, in ms (exponentially weighted). */
  #meanMs: number | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.#maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
    this.#slots = options.slots ?? 1;
    this.#free = Array.from({ length: this.#slots }, (_, i) => i);
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.#waiting.length + this.#slots - this.#free.length;
  }

  /** Tasks waiting (not running). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Queues `task`; it starts once every task queued before it has started and a slot is free,
   * and gets `signal` and its slot.
   * Rejects with a `QueueFullError` when `maxWaiting` tasks already wait, and with
   * `signal.reason` as soon as `signal` aborts.
   */
  run<T>(
    task: (signal: AbortSignal | undefined, slot: number) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free.length === 0 && this.#waiting.length >= this.#maxWaiting) {
      return Promise.reject(new QueueFullError(this.#waiting.length, this.#retryAfter()));
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiter = {
        task,
        signal,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
      };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiting.indexOf(w);
          if (i >= 0) this.#waiting.splice(i, 1);
          settle(w, () => reject(signal.reason));
          this.#next();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiting.push(w);
      this.#next();
    });
  }

  /** Resolves once no task is running or waiting (at once when none is). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((ok) => this.#onIdle.push(ok));
  }

  #retryAfter(): number {
    const mean = this.#meanMs ?? 1000;
    return Math.max(1, Math.ceil(((this.#waiting.length + 1) * mean) / this.#slots / 1000));
  }

  #next(): void {
    while (this.#waiting.length > 0 && this.#free.length > 0) {
      this.#start(this.#waiting.shift()!, this.#free.shift()!);
    }
    if (this.#waiting.length === 0 && this.#free.length === this.#slots) {
      for (const ok of this.#onIdle.splice(0)) ok();
    }
  }

  #start(w: Waiter, slot: number): void {
    const started = performance.now();
    const done = () => {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      const ms = performance.now() - started;
      this.#meanMs = this.#meanMs === undefined ? ms : 0.8 * this.#meanMs + 0.2 * ms;
      this.#free.push(slot);
      this.#next();
    };
    // The slot is free before the caller hears back, so `size` never counts a finished task; the
    // chain never rejects, so one failed task never stops the later ones.
    Promise.resolve()
      .then(() => w.task(w.signal, slot))
      .then(
        (v) => {
          done();
          settle(w, () => w.resolve(v));
        },
        (err: unknown) => {
          done();
          settle(w, () => w.reject(err));
        },
      );
  }
}

function settle(w: Waiter, how: () => void): void {
  if (w.settled) return;
  w.settled = true;
  how();
}
