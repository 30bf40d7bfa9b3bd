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
  const ok = res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  if (ok || res.destroyed) return Promise.resolve();
  return new Promise((done) => {
    const finish = () => {
      res.off('drain', finish);
      res.off('close', finish);
      done();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}
