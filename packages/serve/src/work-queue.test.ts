import { describe, expect, it } from 'vitest';
import { QueueFullError, WorkQueue } from './work-queue.js';

const tick = () => new Promise<void>((ok) => setImmediate(ok));

describe('WorkQueue', () => {
  it('runs tasks one at a time in the order they were queued', async () => {
    const queue = new WorkQueue();
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
    const queue = new WorkQueue();
    const failed = queue.run(async () => {
      throw new Error('boom');
    });
    const next = queue.run(async () => 42);
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe(42);
  });

  it('refuses a task when maxWaiting tasks already wait, with a retry estimate', async () => {
    const queue = new WorkQueue({ maxWaiting: 1 });
    let release!: () => void;
    const running = queue.run(() => new Promise<string>((ok) => (release = () => ok('a'))));
    const waiting = queue.run(async () => 'b');
    expect(queue.size).toBe(2);
    expect(queue.waiting).toBe(1);
    const refused = queue.run(async () => 'c');
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    const err = (await refused.catch((e: unknown) => e)) as QueueFullError;
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err.message).toMatch(/1 request is already waiting.*maxQueue/);
    await tick();
    release();
    expect(await running).toBe('a');
    expect(await waiting).toBe('b');
    // A place is free again.
    expect(await queue.run(async () => 'd')).toBe('d');
  });

  it('drops a waiting task whose signal aborts, and never starts it', async () => {
    const queue = new WorkQueue();
    let release!: () => void;
    const running = queue.run(() => new Promise<void>((ok) => (release = ok)));
    const ac = new AbortController();
    let started = false;
    const dropped = queue.run(async () => {
      started = true;
    }, ac.signal);
    expect(queue.size).toBe(2);
    ac.abort(new Error('gone'));
    await expect(dropped).rejects.toThrow('gone');
    expect(queue.size).toBe(1);
    release();
    await running;
    await tick();
    expect(started).toBe(false);
    expect(queue.size).toBe(0);
  });

  it('rejects a running task at once when its signal aborts, but holds its place until it stops', async () => {
    const queue = new WorkQueue();
    const ac = new AbortController();
    let stop!: () => void;
    let seen: AbortSignal | undefined;
    const running = queue.run((signal) => {
      seen = signal;
      return new Promise<void>((ok) => (stop = ok));
    }, ac.signal);
    const trace: string[] = [];
    const next = queue.run(async () => {
      trace.push('next');
    });
    await tick();
    expect(seen).toBe(ac.signal);
    ac.abort(new Error('client gone'));
    await expect(running).rejects.toThrow('client gone');
    await tick();
    expect(trace).toEqual([]);
    expect(queue.size).toBe(2);
    stop();
    await next;
    expect(trace).toEqual(['next']);
    expect(queue.size).toBe(0);
  });

  it('tells when it is idle, the depth limit notwithstanding', async () => {
    const queue = new WorkQueue({ maxWaiting: 0 });
    await queue.idle();
    let release!: () => void;
    const running = queue.run(() => new Promise<void>((ok) => (release = ok)));
    await expect(queue.run(async () => 1)).rejects.toBeInstanceOf(QueueFullError);
    let idle = false;
    const waited = queue.idle().then(() => {
      idle = true;
    });
    await tick();
    expect(idle).toBe(false);
    release();
    await running;
    await waited;
    expect(idle).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('runs up to `slots` tasks at once, each in a slot of its own, the rest in order', async () => {
    const queue = new WorkQueue({ slots: 2, maxWaiting: 1 });
    const release: (() => void)[] = [];
    const slots: number[] = [];
    const task = (name: string) => (_: AbortSignal | undefined, slot: number) => {
      slots.push(slot);
      return new Promise<string>((ok) => release.push(() => ok(name)));
    };
    const a = queue.run(task('a'));
    const b = queue.run(task('b'));
    const c = queue.run(task('c'));
    await tick();
    // a and b run at once in slots 0 and 1; c waits; a fourth is refused.
    expect(slots).toEqual([0, 1]);
    expect(queue.size).toBe(3);
    await expect(queue.run(task('d'))).rejects.toBeInstanceOf(QueueFullError);
    release[1]!(); // b ends: c takes its slot
    expect(await b).toBe('b');
    await tick();
    expect(slots).toEqual([0, 1, 1]);
    release[0]!();
    release[2]!();
    expect([await a, await c]).toEqual(['a', 'c']);
    await queue.idle();
    expect(queue.size).toBe(0);
  });
});
