import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCS, ROOT, SITE_PACKAGES } from './test-utils/paths.js';

const read = (...parts: string[]) => readFile(join(ROOT, ...parts), 'utf8');

/** The README and every docs page (not the generated API pages). */
async function pages(): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [['README.md', await read('README.md')]];
  for (const name of await readdir(DOCS)) {
    if (name.endsWith('.md')) out.push([`docs/${name}`, await read('docs', name)]);
  }
  out.push(['packages/queue/README.md', await read('packages', 'queue', 'README.md')]);
  return out;
}

describe('what the docs tell a newcomer', () => {
  it('run the CLI as `npx cbtm`, which works right after `npm ci`, not through dist/', async () => {
    for (const [name, text] of await pages()) {
      expect(text, name).not.toContain('node packages/pipeline/dist/bin.js');
    }
    expect(await read('docs', 'getting-started.md')).toContain('npx cbtm eval --run runs/demo');
  });

  it('the README lists the system programs the full test suite uses, and what is skipped without them', async () => {
    const readme = await read('README.md');
    const section = readme.slice(readme.indexOf('### System programs the tests use'));
    expect(section).toContain('`redis-server`');
    expect(section).toContain('apt-get install redis-server');
    expect(section).toContain('/usr/bin/chromium');
    expect(section).toContain('apt-get install chromium');
    expect(section).toMatch(/skipped/);
  });

  it('scaling out leads with the Redis queue and its shared storage, then the manual way', async () => {
    const text = await read('docs', 'scaling-out.md');
    const queue = text.indexOf('cbtm queue enqueue');
    const worker = text.indexOf('cbtm worker');
    const manual = text.indexOf('cbtm train --run runs/big --expert 1');
    expect(queue).toBeGreaterThan(0);
    expect(worker).toBeGreaterThan(0);
    expect(manual).toBeGreaterThan(Math.max(queue, worker));
    expect(text.slice(0, manual)).toMatch(/shared file system/);
  });

  it('never suggests a Redis open to the network without a password', async () => {
    for (const [name, text] of await pages()) {
      expect(text, name).not.toMatch(/redis-server[^\n]*--protected-mode no/);
    }
    const queue = await read('packages', 'queue', 'README.md');
    expect(queue).toContain('--requirepass');
    expect(queue).toMatch(/redis:\/\/:\$CBTM_REDIS_PASSWORD@/);
    expect(queue).toContain('rediss://');
  });
});

describe('the package list of the site', () => {
  it('names every published package once, each after the packages it depends on', async () => {
    const published = new Map<string, string[]>();
    for (const dir of await readdir(join(ROOT, 'packages'))) {
      const pkg = JSON.parse(await read('packages', dir, 'package.json').catch(() => '{}'));
      if (!pkg.name || pkg.private) continue;
      const deps = Object.keys({
        ...pkg.dependencies,
        ...pkg.optionalDependencies,
        ...pkg.peerDependencies,
      })
        .filter((d) => d.startsWith('@cbtm/'))
        .map((d) => d.slice('@cbtm/'.length));
      published.set(dir, deps);
    }
    expect([...SITE_PACKAGES].sort()).toEqual([...published.keys()].sort());
    for (const [i, name] of SITE_PACKAGES.entries()) {
      for (const dep of published.get(name) ?? []) {
        // A lazily loaded optional peer (the CLI's serve and queue) may come after its user.
        const optional = ['serve', 'queue'].includes(dep) && name === 'pipeline';
        if (!optional) expect(SITE_PACKAGES.indexOf(dep), `${name} needs ${dep}`).toBeLessThan(i);
      }
    }
  });
});
