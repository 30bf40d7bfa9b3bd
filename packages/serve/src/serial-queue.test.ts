import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.js';

const tick = () => new Promise<void>((ok) => setImmediate(ok));

describe('SerialQueue', () => {
  it('runs tasks one at a time in the order they were queued', async () => {
    const queue = new SerialQueue();
    const trace: string[] = [];
    let running = 0;
    const task = (name: string, steps: number) => async () => {
      running += 1;
      expect(running).toBe(1);
      for (let i = 0; i < steps; i++) {
        trace.push(`${name}${i}`);
        await tick();
      }
      running -= 1;
      return name;
    };
    const results = Promise.all([
      queue.run(task('a', 3)),
      queue.run(task('b', 1)),
      queue.run(task('c', 2)),
    ]);
    expect(queue.size).toBe(3);
    expect(await results).toEqual(['a', 'b', 'c']);
    expect(trace).toEqual(['a0', 'a1', 'a2', 'b0', 'c0', 'c1']);
    expect(queue.size).toBe(0);
  });

  it('keeps going after a task fails, and passes the failure to its caller only', async () => {
    const queue = new SerialQueue();
    const failed = queue.run(async () => {
      throw new Error('boom');
    });
    const next = queue.run(async () => 42);
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe(42);
  });
});
