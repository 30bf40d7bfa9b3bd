import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { DOCS, ROOT, SITE } from './paths.js';

const run = promisify(execFile);

/**
 * Builds the docs site into {@link SITE} with VitePress: `vitepress build docs`, the command of
 * `npm run docs:build`. VitePress fails the build on a dead markdown link.
 */
export async function buildSite(): Promise<string> {
  const bin = join(ROOT, 'node_modules', 'vitepress', 'bin', 'vitepress.js');
  const scripts =
    (
      JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
        scripts?: Record<string, string>;
      }
    ).scripts ?? {};
  // `npm run docs:build` when the root package defines it (what CI runs), else the same command.
  const [cmd, args] = scripts['docs:build']
    ? [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'docs:build']]
    : [process.execPath, [bin, 'build', DOCS]];
  try {
    await run(cmd, args, {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, NODE_ENV: 'production' },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`vitepress build failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  if (!existsSync(join(SITE, 'index.html')))
    throw new Error(`vitepress build wrote no ${SITE}/index.html`);
  return SITE;
}

/** Builds the site unless another test file of this run already did. */
export async function ensureSite(): Promise<string> {
  const id = inject('docsRunId');
  const stamp = join(SITE, '.docs-run-id');
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === id) return SITE;
  await buildSite();
  await writeFile(stamp, id);
  return SITE;
}
