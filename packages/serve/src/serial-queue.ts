/**
 * Runs async tasks one at a time, in the order they were queued. The server puts every
 * request's ensemble work through one of these, so two requests never interleave TensorFlow.js
 * work (and the expert cache never thrashes between them).
 *
 * @example
 * ```ts
 * const queue = new SerialQueue();
 * const [a, b] = await Promise.all([queue.run(() => score('x')), queue.run(() => score('y'))]);
 * ```
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #size = 0;

  /** Tasks queued or running. */
  get size(): number {
    return this.#size;
  }

  /** Queues `task`; it starts once every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#size += 1;
    const result = this.#tail.then(task);
    // The chain must never reject, or one failed request would stop every later one.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.#size -= 1;
    });
  }
}
