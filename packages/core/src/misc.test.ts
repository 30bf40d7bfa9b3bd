import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createFileWriter, createJsonlWriter, writeJsonAtomic } from './atomic-write.js';
import { hashConfig } from './checksum.js';
import { AbortError, CbtmError, throwIfAborted } from './errors.js';
import { type ProgressEvent, progressReporter } from './progress.js';
import { deriveSeed, Rng } from './rng.js';
import { stableStringify } from './stable-stringify.js';

describe('Rng', () => {
  it('is reproducible from a seed and from a saved state', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.float());
    expect(Array.from({ length: 5 }, () => b.float())).toEqual(xs);
    const saved = a.state();
    const next = [a.int(0, 100), a.float()];
    const restored = Rng.fromState(saved);
    expect([restored.int(0, 100), restored.float()]).toEqual(next);
    expect(new Rng(43).float()).not.toBe(xs[0]);
  });

  it('draws uniform floats and ints with the right moments', () => {
    const rng = new Rng(1);
    let sum = 0;
    const counts = new Array(6).fill(0);
    const n = 60000;
    for (let i = 0; i < n; i++) {
      sum += rng.float();
      counts[rng.int(0, 5)] += 1;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(5 * Math.sqrt((n * 5) / 36));
    let s2 = 0;
    for (let i = 0; i < n; i++) s2 += rng.normal() ** 2;
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });

  it('shuffles into a permutation and forks independent streams', () => {
    const rng = new Rng(3);
    const arr = rng.shuffle(Array.from({ length: 20 }, (_, i) => i));
    expect([...arr].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const child = rng.fork();
    expect(child.float()).not.toBe(rng.float());
    expect(deriveSeed(1, 'expert-0')).toBe(deriveSeed(1, 'expert-0'));
    expect(deriveSeed(1, 'expert-0')).not.toBe(deriveSeed(1, 'expert-1'));
  });
});

describe('progressReporter', () => {
  it('stamps stage and task and never goes backwards', () => {
    const events: ProgressEvent[] = [];
    const p = progressReporter('embed', (e) => void events.push(e), {
      total: 10,
      unit: 'docs',
      task: 't',
    });
    p.start();
    p.update(4);
    p.update(2, { metrics: { loss: 1 } });
    p.done();
    expect(events.map((e) => [e.status, e.done])).toEqual([
      ['start', 0],
      ['progress', 4],
      ['progress', 4],
      ['done', 10],
    ]);
    expect(events[2]).toMatchObject({
      stage: 'embed',
      task: 't',
      total: 10,
      unit: 'docs',
      metrics: { loss: 1 },
    });
  });
});

describe('errors', () => {
  it('carry a code and a cause, and abort checks throw AbortError', () => {
    const cause = new Error('root');
    const e = new CbtmError('E_MODEL', 'bad', { cause });
    expect(e).toMatchObject({ code: 'E_MODEL', cause, name: 'CbtmError' });
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal)).not.toThrow();
    ac.abort('stop');
    expect(() => throwIfAborted(ac.signal)).toThrow(AbortError);
  });
});

describe('writers', () => {
  it('gzip JSONL writer round-trips and leaves no temp files; abort writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-w-'));
    const file = join(dir, 'shards', '0.jsonl.gz');
    const w = createJsonlWriter(file);
    for (let i = 0; i < 1000; i++) await w.write({ id: `d${i}`, text: 'é'.repeat(i % 7) });
    await w.close();
    const lines = gunzipSync(await readFile(file))
      .toString('utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1000);
    expect(JSON.parse(lines[999]!)).toEqual({ id: 'd999', text: 'é'.repeat(999 % 7) });
    const aborted = createJsonlWriter(join(dir, 'shards', '1.jsonl.gz'));
    await aborted.write({ id: 'x' });
    await aborted.abort();
    await writeJsonAtomic(join(dir, 'm.json'), { a: 1 });
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual(['0.jsonl.gz']);
    expect(JSON.parse(await readFile(join(dir, 'm.json'), 'utf8'))).toEqual({ a: 1 });
  });

  it('file writer writes bytes in pieces, atomically; abort leaves the old file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-w-'));
    const file = join(dir, 'embeddings', 'vectors.f32');
    const w = createFileWriter(file);
    const rows = Array.from({ length: 3000 }, (_, i) => Float32Array.of(i, -i, i / 7));
    for (const r of rows) await w.write(new Uint8Array(r.buffer));
    await expect(readFile(file)).rejects.toThrow(); // nothing in place before close
    await w.close();
    const bytes = await readFile(file);
    const back = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    expect(back.length).toBe(9000);
    expect(Array.from(back.subarray(3 * 2999))).toEqual(Array.from(rows[2999]!));
    const again = createFileWriter(file);
    await again.write('not floats');
    await again.abort();
    expect((await readFile(file)).length).toBe(9000 * 4);
    expect(await readdir(join(dir, 'embeddings'))).toEqual(['vectors.f32']);
  });

  it('config hashes ignore key order', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(hashConfig({ b: 1, a: 2 })).toBe(hashConfig({ a: 2, b: 1 }));
    expect(hashConfig({ a: 1 })).not.toBe(hashConfig({ a: 2 }));
  });
});
