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

function writeRaw(res: ServerResponse, text: string): Promise<void> {
  const ok = res.write(text);
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

/** Writes one unnamed Server-Sent Event, `data: <text>`, as OpenAI's streams do. */
export function writeData(res: ServerResponse, data: unknown): Promise<void> {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return writeRaw(res, `data: ${text}\n\n`);
}
