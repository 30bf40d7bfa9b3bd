import { fileURLToPath } from 'node:url';

/**
 * Path of a compiled sibling script (a worker entry point) of the module at `moduleUrl`.
 * Worker processes and threads need JavaScript; when this package runs from its TypeScript
 * sources (the test runner), the built copy under `dist/` is used.
 */
export function builtScript(moduleUrl: string, name: string): string {
  const url = new URL(`./${name}`, moduleUrl);
  if (moduleUrl.endsWith('.ts'))
    url.pathname = url.pathname.replace(/\/src\/(?!.*\/src\/)/, '/dist/');
  return fileURLToPath(url);
}
