import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// tools/browser-entries.mjs is what tools/check-deps.mjs runs on every package's main entry.
type FindNodeImports = (entry: string, options: { root: string }) => Promise<string[]>;
const toolUrl = new URL('../../../tools/browser-entries.mjs', import.meta.url).href;

describe('tools/browser-entries.mjs (the browser check of pure entries)', () => {
  let findNodeImports: FindNodeImports;
  let dir: string;

  beforeAll(async () => {
    ({ findNodeImports } = (await import(toolUrl)) as { findNodeImports: FindNodeImports });
    dir = await mkdtemp(join(tmpdir(), 'cbtm-browser-entries-'));
    await writeFile(join(dir, 'pure.ts'), 'export const add = (a: number, b: number) => a + b;\n');
    await writeFile(
      join(dir, 'reader.ts'),
      "import { readFileSync } from 'node:fs';\nexport const read = (p: string) => readFileSync(p, 'utf8');\n",
    );
    await writeFile(
      join(dir, 'entry.ts'),
      "export { add } from './pure.js';\nexport { read } from './reader.js';\n",
    );
    await writeFile(
      join(dir, 'lazy.ts'),
      "export const load = async () => (await import('node:path')).join('a', 'b');\n",
    );
    // A workspace package's pure entry resolves to its source, so it is checked too.
    await writeFile(join(dir, 'uses-core.ts'), "export { Rng } from '@cbtm/core';\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes an entry that imports no Node built-in', async () => {
    expect(await findNodeImports(join(dir, 'pure.ts'), { root: dir })).toEqual([]);
  });

  it('fails on a planted node:fs import and names the chain of modules', async () => {
    expect(await findNodeImports(join(dir, 'entry.ts'), { root: dir })).toEqual([
      'entry.ts → reader.ts → node:fs',
    ]);
  });

  it('counts a dynamic import() of a built-in too', async () => {
    expect(await findNodeImports(join(dir, 'lazy.ts'), { root: dir })).toEqual([
      'lazy.ts → node:path',
    ]);
  });

  it("passes @cbtm/core's pure entry and fails its ./node entry", async () => {
    const root = new URL('../../..', import.meta.url).pathname;
    expect(await findNodeImports(join(dir, 'uses-core.ts'), { root })).toEqual([]);
    const problems = await findNodeImports(join(root, 'packages/core/src/node.ts'), { root });
    expect(problems).toContain(
      'packages/core/src/node.ts → packages/core/src/atomic-write.ts → node:fs',
    );
  });
});
