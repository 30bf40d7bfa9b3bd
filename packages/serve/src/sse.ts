import type { ServerResponse } from 'node:http';

/** Starts a Server-Sent Events response. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
}

/** Writes one Server-Sent Event; resolves once the socket can take more. */
export function writeEvent(res: ServerResponse, event: string, data: unknown): Promise<void> {
  return writeRaw(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * The wait for each response's next `drain`, shared by every write made before it: a client that
 * reads slowly while tokens keep coming costs one pair of listeners, not a pair per token.
 */
const drained = new WeakMap<ServerResponse, Promise<void>>();

function writeRaw(res: ServerResponse, text: string): Promise<void> {
  const ok = res.write(text);
  if (ok || res.destroyed) return Promise.resolve();
  let wait = drained.get(res);
  if (!wait) {
    wait = new Promise((done) => {
      const finish = () => {
        res.off('drain', finish);
        res.off('close', finish);
        drained.delete(res);
        done();
      };
      res.on('drain', finish);
      res.on('close', finish);
    });
    drained.set(res, wait);
  }
  return wait;
}

/** Writes one unnamed Server-Sent Event, `data: <text>`, as OpenAI's streams do. */
export function writeData(res: ServerResponse, data: unknown): Promise<void> {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return writeRaw(res, `data: ${text}\n\n`);
}
