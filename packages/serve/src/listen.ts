import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CbtmError } from '@cbtm/core';

/** Starts `server` listening; a busy port becomes an error that says to pick another. */
export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw new CbtmError(
      'E_INVALID_ARGUMENT',
      `Cannot listen on ${host}:${port}: ${err.message}.${err.code === 'EADDRINUSE' ? ' Pick another --port (0 picks a free one).' : ''}`,
      { cause: err },
    );
  });
  return server.address() as AddressInfo;
}
