import type { AddressInfo } from 'node:net';
import { CbtmError } from '@cbtm/core';
import type { FastifyInstance } from 'fastify';

/** Starts `app` listening; a busy port becomes an error that says to pick another. */
export async function listen(
  app: FastifyInstance,
  port: number,
  host: string,
): Promise<AddressInfo> {
  await app.listen({ port, host }).catch((err: NodeJS.ErrnoException) => {
    throw new CbtmError(
      'E_INVALID_ARGUMENT',
      `Cannot listen on ${host}:${port}: ${err.message}.${err.code === 'EADDRINUSE' ? ' Pick another --port (0 picks a free one).' : ''}`,
      { cause: err },
    );
  });
  return app.server.address() as AddressInfo;
}
