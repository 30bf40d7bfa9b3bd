import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbtmError } from '@cbtm/core';
import { removeExpert } from '@cbtm/ensemble/node';
import { selectBackend } from '@cbtm/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportWebCommand } from './command.js';
import { exportWeb, WEB_EXPORT_MARKER } from './export-web.js';
import { makeTinyRun } from './test-utils/tiny-run.js';
import type { WebDemoManifest, WebEmbedderJson } from './web-format.js';

function f32(buf: Buffer): Float32Array {
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function f64(buf: Buffer): Float64Array {
  const out = new Float64Array(buf.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

describe('exportWeb', () => {
  let tmp: string;
  let run: string;

  beforeAll(async () => {
    await selectBackend('cpu', { log: () => {} });
    tmp = await mkdtemp(join(tmpdir(), 'cbtm-export-web-'));
    run = await makeTinyRun(join(tmp, 'run'), { k: 3, dimension: 6 });
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('leaves out the experts removed with cbtm remove-expert, and names them when asked for', async () => {
    const shrunk = join(tmp, 'run-shrunk');
    await cp(run, shrunk, { recursive: true });
    await removeExpert(shrunk, 1);
    const result = await exportWeb(shrunk, join(tmp, 'web-shrunk'));
    expect(result.manifest.experts.map((e) => e.cluster)).toEqual([0, 2]);
    expect(result.files.map((f) => f.path).filter((p) => p.startsWith('experts/'))).toEqual([
      'experts/0/group1-shard1of1.bin',
      'experts/0/model.json',
      'experts/1/group1-shard1of1.bin',
      'experts/1/model.json',
    ]);
    // The centroids are those of experts 0 and 2, in that order.
    const all = f32(await readFile(join(shrunk, 'router', 'centroids.f32')));
    const exported = f32(await readFile(join(tmp, 'web-shrunk', 'centroids.f32')));
    expect(exported).toEqual(Float32Array.from([...all.subarray(0, 6), ...all.subarray(12, 18)]));
    await expect(exportWeb(shrunk, join(tmp, 'web-bad'), { experts: [0, 1] })).rejects.toThrow(
      `Expert 1 was removed from ${shrunk} (cbtm remove-expert)`,
    );
  });

  it('writes the tokenizer, per-term embedder rows, centroids, experts and a manifest', async () => {
    const out = join(tmp, 'web');
    const result = await exportWeb(run, out, { prompts: ['Hello'], topK: 2, temperature: 0.2 });
    expect(result.files.map((f) => f.path)).toEqual([
      'centroids.f32',
      'embedder.f32',
      'embedder.json',
      'experts/0/group1-shard1of1.bin',
      'experts/0/model.json',
      'experts/1/group1-shard1of1.bin',
      'experts/1/model.json',
      'experts/2/group1-shard1of1.bin',
      'experts/2/model.json',
      'manifest.json',
      'tokenizer.json',
    ]);
    expect(result.totalBytes).toBe(result.files.reduce((n, f) => n + f.bytes, 0));

    const manifest = JSON.parse(
      await readFile(join(out, 'manifest.json'), 'utf8'),
    ) as WebDemoManifest;
    expect(manifest).toMatchObject({
      format: 'cbtm-web-demo',
      version: 1,
      tokenizer: 'tokenizer.json',
      embedder: 'embedder.json',
      router: { k: 3, dimension: 6, centroids: 'centroids.f32', temperature: 0.2, topK: 2 },
      prompts: ['Hello'],
    });
    // Labels: each cluster's most common domain, read from its shard (the tiny run's cluster j
    // is the j-th domain in sorted order).
    expect(manifest.experts.map((e) => [e.index, e.cluster, e.model, e.label])).toEqual([
      [0, 0, 'experts/0/model.json', 'dictionary'],
      [1, 1, 'experts/1/model.json', 'legal'],
      [2, 2, 'experts/2/model.json', 'manuals'],
    ]);

    // Tokenizer and experts are the run's files, byte for byte.
    expect(await readFile(join(out, 'tokenizer.json'))).toEqual(
      await readFile(join(run, 'tokenizer', 'tokenizer.json')),
    );
    for (const j of [0, 1, 2]) {
      for (const f of ['model.json', 'group1-shard1of1.bin']) {
        expect(await readFile(join(out, 'experts', String(j), f))).toEqual(
          await readFile(join(run, 'experts', String(j), f)),
        );
      }
    }
    // Centroids are the router's.
    expect(await readFile(join(out, 'centroids.f32'))).toEqual(
      await readFile(join(run, 'router', 'centroids.f32')),
    );

    // Each row is idf_t × SVD component column t, computed here from the embedder's own files.
    const e = JSON.parse(await readFile(join(out, 'embedder.json'), 'utf8')) as WebEmbedderJson;
    const vocab = JSON.parse(
      await readFile(join(run, 'embedder', 'vocabulary.json'), 'utf8'),
    ) as string[];
    const idf = f64(await readFile(join(run, 'embedder', 'idf.f64')));
    const comps = f32(await readFile(join(run, 'embedder', 'components.f32')));
    const rows = f32(await readFile(join(out, 'embedder.f32')));
    expect(e.terms).toEqual(vocab);
    expect(e.dimension).toBe(6);
    expect(e.analyzer).toMatchObject({
      lowercase: true,
      minTokenLength: 2,
      numberNormalize: true,
      numberToken: '#NUMBER',
    });
    expect(e.analyzer.stopWords).toContain('the');
    expect(e.analyzer.stopWords).toContain('#NUMBER');
    expect(rows.length).toBe(vocab.length * 6);
    const V = vocab.length;
    for (let t = 0; t < V; t += 7) {
      for (let c = 0; c < 6; c++)
        expect(rows[t * 6 + c]).toBeCloseTo(idf[t]! * comps[c * V + t]!, 6);
    }
  });

  it('exports a subset of experts, re-indexed, with their centroids in that order', async () => {
    const out = join(tmp, 'subset');
    const { manifest } = await exportWeb(run, out, { experts: [2, 0] });
    expect(manifest.router.k).toBe(2);
    expect(manifest.experts.map((e) => [e.index, e.cluster])).toEqual([
      [0, 2],
      [1, 0],
    ]);
    const all = f32(await readFile(join(run, 'router', 'centroids.f32')));
    const got = f32(await readFile(join(out, 'centroids.f32')));
    expect(Array.from(got)).toEqual([...all.slice(12, 18), ...all.slice(0, 6)]);
    expect(await readFile(join(out, 'experts', '0', 'group1-shard1of1.bin'))).toEqual(
      await readFile(join(run, 'experts', '2', 'group1-shard1of1.bin')),
    );
  });

  it('replaces an earlier export as a whole, and keeps the old one when it fails', async () => {
    const out = join(tmp, 'replace');
    await exportWeb(run, out);
    expect(await readdir(out)).toContain(WEB_EXPORT_MARKER);
    await writeFile(join(out, 'stale.txt'), 'old');
    await exportWeb(run, out);
    expect((await readdir(out)).includes('stale.txt')).toBe(false);
    const before = await readFile(join(out, 'manifest.json'), 'utf8');

    await expect(exportWeb(run, out, { maxBytes: 1000, prompts: ['changed'] })).rejects.toThrow(
      /over maxBytes/,
    );
    expect(await readFile(join(out, 'manifest.json'), 'utf8')).toBe(before);
    // No temp folders are left next to it.
    expect((await readdir(tmp)).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual(
      [],
    );
  });

  it('replaces an empty folder, and an export made before the marker', async () => {
    const empty = join(tmp, 'empty-out');
    await mkdir(empty);
    await exportWeb(run, empty);
    expect(await readdir(empty)).toContain('manifest.json');

    await rm(join(empty, WEB_EXPORT_MARKER));
    await exportWeb(run, empty, { prompts: ['again'] });
    expect(await readdir(empty)).toContain(WEB_EXPORT_MARKER);
  });

  it("never deletes a user's files, the run, or a folder that contains the run", async () => {
    const mine = join(tmp, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'thesis.tex'), 'years of work');
    await expect(exportWeb(run, mine)).rejects.toThrow(/not a cbtm web export/);
    expect(await readFile(join(mine, 'thesis.tex'), 'utf8')).toBe('years of work');

    // A folder that looks like an export but holds something else too.
    await writeFile(join(mine, 'manifest.json'), JSON.stringify({ format: 'cbtm-web-demo' }));
    await expect(exportWeb(run, mine)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(await readFile(join(mine, 'thesis.tex'), 'utf8')).toBe('years of work');

    const file = join(tmp, 'a-file');
    await writeFile(file, 'x');
    await expect(exportWeb(run, file)).rejects.toThrow(/is a file/);

    for (const out of [run, tmp, join(run, '..', 'run', '.')]) {
      await expect(exportWeb(run, out)).rejects.toThrow(
        /the run directory or a folder that contains it/,
      );
    }
    expect(await readdir(run)).toContain('manifest.json');
    expect(await readdir(join(run, 'experts'))).toEqual(['0', '1', '2']);
  });

  it('says what is missing or wrong', async () => {
    const empty = join(tmp, 'empty-run');
    await mkdir(empty, { recursive: true });
    await expect(exportWeb(empty, join(tmp, 'x'))).rejects.toMatchObject({ code: 'E_RUN_INVALID' });

    const partial = join(tmp, 'partial');
    await makeTinyRun(partial, { k: 2, dimension: 4 });
    await rm(join(partial, 'experts', '1'), { recursive: true });
    const err = await exportWeb(partial, join(tmp, 'y')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CbtmError);
    expect((err as CbtmError).code).toBe('E_STAGE_MISSING');
    expect((err as CbtmError).message).toContain(join(partial, 'experts', '1', 'model.json'));

    await expect(exportWeb(run, join(tmp, 'z'), { experts: [0, 0] })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
    });
    await expect(exportWeb(run, join(tmp, 'z'), { experts: [3] })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
    });
    await expect(exportWeb(run, join(tmp, 'z'), { temperature: 0 })).rejects.toMatchObject({
      code: 'E_INVALID_ARGUMENT',
    });
  });

  it('runs as `cbtm export-web`: parses the flags and prints the files and the total', async () => {
    let out = '';
    const ctx = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stderr: { write: () => true } as unknown as NodeJS.WritableStream,
      cwd: tmp,
      signal: new AbortController().signal,
    };
    await exportWebCommand(
      {
        run: 'run',
        out: 'cli-web',
        experts: '2,0',
        prompt: ['one', 'two'],
        topK: 1,
        temperature: '0.5',
      },
      ctx,
    );
    const manifest = JSON.parse(
      await readFile(join(tmp, 'cli-web', 'manifest.json'), 'utf8'),
    ) as WebDemoManifest;
    expect(manifest.router).toMatchObject({ k: 2, topK: 1, temperature: 0.5 });
    expect(manifest.prompts).toEqual(['one', 'two']);
    expect(manifest.experts.map((e) => e.cluster)).toEqual([2, 0]);
    expect(out).toMatch(/^manifest\.json\t\d+$/m);
    expect(out).toMatch(
      new RegExp(`^Exported 2 experts to ${join(tmp, 'cli-web')} \\(\\d+\\.\\d\\d MB\\)\\.$`, 'm'),
    );

    for (const bad of [{ experts: '1,x' }, { temperature: '-1' }]) {
      await expect(
        exportWebCommand({ run: 'run', out: 'cli-bad', ...bad }, ctx),
      ).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    }
  });
});
