import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { writeData, writeEvent } from './sse.js';

/** A response whose socket buffer is full until `drain` is emitted. */
function fullResponse() {
  const res = new EventEmitter() as EventEmitter & { written: string[]; destroyed: boolean };
  res.written = [];
  res.destroyed = false;
  Object.assign(res, {
    write(text: string) {
      res.written.push(text);
      return false;
    },
  });
  return res;
}

describe('server-sent events', () => {
  it('writes the event format, and many writes to a slow client share one wait for drain', async () => {
    const res = fullResponse();
    const r = res as unknown as ServerResponse;
    let settled = 0;
    const writes = Array.from({ length: 20 }, (_, i) =>
      writeEvent(r, 'token', { i }).then(() => settled++),
    );
    writes.push(writeData(r, '[DONE]').then(() => settled++));
    expect(res.written[0]).toBe('event: token\ndata: {"i":0}\n\n');
    expect(res.written.at(-1)).toBe('data: [DONE]\n\n');
    expect(res.listenerCount('drain')).toBe(1);
    expect(res.listenerCount('close')).toBe(1);
    await new Promise((ok) => setImmediate(ok));
    expect(settled).toBe(0);
    res.emit('drain');
    await Promise.all(writes);
    expect(settled).toBe(21);
    expect(res.listenerCount('drain')).toBe(0);
    // The next full write waits for the next drain (or close).
    const next = writeData(r, { x: 1 });
    expect(res.listenerCount('drain')).toBe(1);
    res.emit('close');
    await next;
    expect(res.listenerCount('close')).toBe(0);
  });
});
