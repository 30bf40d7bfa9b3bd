import { fork } from 'node:child_process';
import { mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RunDirError } from './errors.js';
import { RUN_FORMAT_VERSION, RunDir } from './run-dir.js';

const tmp = () => mkdtemp(join(tmpdir(), 'cbtm-run-'));

describe('RunDir', () => {
  it('creates, records stages with checksums, and reopens', async () => {
    const dir = await tmp();
    const run = await RunDir.create(dir, { config: { k: 4 } });
    expect(run.manifest).toMatchObject({
      format: 'cbtm-run',
      version: RUN_FORMAT_VERSION,
      config: { k: 4 },
    });
    await writeFile(run.path('a.txt'), 'hello');
    const rec = await run.markStageDone('embed', {
      config: { dim: 8, seed: 1 },
      outputs: ['a.txt'],
    });
    // sha256("hello"), computed independently.
    expect(rec.outputs['a.txt']).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    const again = await RunDir.open(dir);
    expect(again.stageDone('embed')).toBe(true);
    expect(again.stageDone('embed', { seed: 1, dim: 8 })).toBe(true);
    expect(again.stageDone('embed', { dim: 16, seed: 1 })).toBe(false);
    expect(await again.verifyStage('embed')).toBe(true);
    await writeFile(run.path('a.txt'), 'changed');
    expect(await again.verifyStage('embed')).toBe(false);
    await again.invalidateStage('embed');
    expect((await RunDir.open(dir)).stageDone('embed')).toBe(false);
  });

  it('refuses to create over an existing run, and openOrCreate resumes', async () => {
    const dir = await tmp();
    await RunDir.create(dir);
    await expect(RunDir.create(dir)).rejects.toThrow('already holds a cbtm run');
    const run = await RunDir.openOrCreate(dir, { config: { other: true } });
    expect(run.manifest.config).toBeNull();
  });

  it('rejects missing, foreign and newer-version manifests with clear errors', async () => {
    const dir = await tmp();
    await expect(RunDir.open(dir)).rejects.toThrow(`${dir} is not a cbtm run directory`);
    await writeFile(
      join(dir, 'manifest.json'),
      '{"format":"something-else","version":1,"stages":{}}',
    );
    await expect(RunDir.open(dir)).rejects.toThrow('expected "cbtm-run"');
    await writeFile(join(dir, 'manifest.json'), '{"format":"cbtm-run","version":99,"stages":{}}');
    const err = await RunDir.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunDirError);
    expect(err).toMatchObject({ code: 'E_RUN_VERSION' });
    expect((err as Error).message).toBe(
      `${join(dir, 'manifest.json')}: run format version 99 was written by a newer cbtm; this cbtm reads up to version 1. Upgrade cbtm to open it.`,
    );
    await writeFile(join(dir, 'manifest.json'), '{"format":');
    await expect(RunDir.open(dir)).rejects.toThrow('manifest.json is not valid JSON');
  });

  it('survives a crash in the middle of a manifest write', async () => {
    const dir = await tmp();
    const run = await RunDir.create(dir, { config: { original: true } });
    await run.markStageDone('seed-stage', { config: { x: 1 }, outputs: [] });
    const before = await readFile(RunDir.manifestPath(dir), 'utf8');
    // The child rewrites the manifest with a large config in a tight loop; kill it mid-write.
    const script = fileURLToPath(new URL('./test-utils/manifest-writer.mjs', import.meta.url));
    const child = fork(script, [dir], { stdio: 'pipe' });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const reopened = await RunDir.open(dir);
    // Either the old manifest or one complete new one: never a torn file.
    const config = reopened.manifest.config as { original?: boolean; big?: string[] };
    expect(config.original === true || config.big?.length === 20000).toBe(true);
    expect(reopened.stageDone('seed-stage', { x: 1 })).toBe(true);
    expect(before.length).toBeGreaterThan(0);
  });

  it('removes the temp files of manifest writes killed midway when the run is next opened', async () => {
    const dir = await tmp();
    await RunDir.create(dir);
    // What SIGKILL during a manifest write leaves (see the crash test above).
    const stale = join(dir, '.manifest.json.4242.mabc123.7.tmp');
    await writeFile(stale, '{"format": "cbtm-run", "vers');
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(stale, old, old);
    // A write in progress right now (e.g. by a worker on another machine) is left alone.
    const fresh = join(dir, '.manifest.json.5151.mabc124.1.tmp');
    await writeFile(fresh, '{');
    // Other temp files are not the manifest's to clean.
    const other = join(dir, '.results.json.4242.mabc123.8.tmp');
    await writeFile(other, '{');
    await utimes(other, old, old);
    await RunDir.open(dir);
    expect((await readdir(dir)).sort()).toEqual([
      '.manifest.json.5151.mabc124.1.tmp',
      '.results.json.4242.mabc123.8.tmp',
      'manifest.json',
    ]);
  });
});
