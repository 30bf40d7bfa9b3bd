/** True when `host` (a listen address) only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The host names a request's `Host` header may carry, or `null` for any. A server bound to
 * loopback accepts only loopback names (and `extra`), so a web page whose DNS name rebinds to
 * 127.0.0.1 cannot reach it; a server bound to another address checks only when `extra` is given.
 */
export function allowedHostNames(
  listenHost: string,
  extra?: readonly string[],
): Set<string> | null {
  if (!isLoopback(listenHost) && extra === undefined) return null;
  const names = [
    ...(isLoopback(listenHost) ? ['localhost', '127.0.0.1', '::1'] : []),
    listenHost,
    ...(extra ?? []),
  ];
  return new Set(names.map(normalizeHostName));
}

function normalizeHostName(name: string): string {
  return name
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** The host name of a `Host` header (`[::1]:8080` → `::1`, `localhost:80` → `localhost`). */
export function hostNameOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m ? normalizeHostName(m[1]!) : undefined;
}
