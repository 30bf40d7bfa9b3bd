import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_SKIPPED_LISTED, readCorpus } from './corpus-reader.js';
import { demoCorpusPaths } from './demo-corpus.js';
import { type CbtmError, CorpusError } from './errors.js';
import { hasSharedData, sharedData } from './test-utils/paths.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-core-'));
});

async function count(path: string) {
  let n = 0;
  const domains = new Map<string, number>();
  for await (const doc of readCorpus(path)) {
    n += 1;
    if (doc.domain) domains.set(doc.domain, (domains.get(doc.domain) ?? 0) + 1);
  }
  return { n, domains };
}

describe.skipIf(!hasSharedData)('reading corpus-v1 (../shared/data)', () => {
  it('counts every split, as stats.json says', async () => {
    const stats = JSON.parse(await readFile(resolve(sharedData, 'corpus-v1/stats.json'), 'utf8'));
    for (const split of ['train', 'valid', 'test']) {
      const { n } = await count(resolve(sharedData, `corpus-v1/${split}.jsonl.gz`));
      expect(n).toBe(stats.files[`${split}.jsonl.gz`].records);
    }
    expect(stats.files['train.jsonl.gz'].records).toBe(6209);
  });

  it('reads a folder of files in name order', async () => {
    const folder = resolve(sharedData, 'corpus-v1');
    const reader = readCorpus(folder);
    let n = 0;
    for await (const _ of reader) n += 1;
    expect(n).toBe(6209 + 375 + 384);
    expect(reader.stats.files.map((f) => f.split('/').pop())).toEqual([
      'test.jsonl.gz',
      'train.jsonl.gz',
      'valid.jsonl.gz',
    ]);
  });
});

describe('the built-in demo corpus', () => {
  it('has 968 train and 118 valid records in 5 domains', async () => {
    const { train, valid, readme } = demoCorpusPaths();
    const t = await count(train);
    expect(t.n).toBe(968);
    expect(Object.fromEntries(t.domains)).toEqual({
      legal: 201,
      religion: 189,
      manuals: 196,
      dictionary: 188,
      pydocs: 194,
    });
    expect((await count(valid)).n).toBe(118);
    expect(await readFile(readme, 'utf8')).toContain('Domains and licenses');
  });

  it('honours limit and seeded samples', async () => {
    const { train } = demoCorpusPaths();
    const first = await readCorpus(train, { limit: 5 }).toArray();
    expect(first).toHaveLength(5);
    const a = await readCorpus(train, { sample: { size: 50, seed: 7 } }).toArray();
    const b = await readCorpus(train, { sample: { size: 50, seed: 7 } }).toArray();
    const c = await readCorpus(train, { sample: { size: 50, seed: 8 } }).toArray();
    expect(a).toHaveLength(50);
    expect(a.map((d) => d.id)).toEqual(b.map((d) => d.id));
    expect(a.map((d) => d.id)).not.toEqual(c.map((d) => d.id));
    const frac = await readCorpus(train, { sample: { fraction: 0.25, seed: 1 } }).toArray();
    // Binomial(968, 0.25): mean 242, sd 13.5; ±5 sd.
    expect(frac.length).toBeGreaterThan(242 - 68);
    expect(frac.length).toBeLessThan(242 + 68);
  });
});

describe('formats and fields', () => {
  it('reads .jsonl with custom text and id fields, and generates missing ids', async () => {
    const file = join(dir, 'custom.jsonl');
    await writeFile(file, '{"key": 7, "body": "alpha"}\n\n{"body": "beta"}\r\n');
    const docs = await readCorpus(file, { textField: 'body', idField: 'key' }).toArray();
    expect(docs.map((d) => [d.id, d.text])).toEqual([
      ['7', 'alpha'],
      ['custom.jsonl:3', 'beta'],
    ]);
  });

  it('reads .txt files as blank-line separated blocks, and folders of them', async () => {
    const folder = join(dir, 'txt');
    await mkdir(folder);
    await writeFile(join(folder, 'b.txt'), 'one line\nsecond line\n\n\nthird block\n');
    await writeFile(join(folder, 'a.txt'), 'first\n');
    const docs = await readCorpus(folder).toArray();
    expect(docs.map((d) => [d.id, d.text])).toEqual([
      ['a.txt#1', 'first'],
      ['b.txt#1', 'one line\nsecond line'],
      ['b.txt#2', 'third block'],
    ]);
  });

  it('rejects a missing path and an unsupported file with clear errors', async () => {
    await expect(readCorpus(join(dir, 'nope.jsonl')).toArray()).rejects.toMatchObject({
      code: 'E_CORPUS_NOT_FOUND',
      message: expect.stringContaining('nope.jsonl'),
    });
    const csv = join(dir, 'data.csv');
    await writeFile(csv, 'a,b\n');
    await expect(readCorpus(csv).toArray()).rejects.toThrow(`${csv}: unsupported corpus file type`);
  });
});

describe('bad input names the file and line', () => {
  const cases: [string, string | Buffer, string][] = [
    ['malformed.jsonl', '{"text":"ok"}\n{"text": "x",\n', ':2: malformed JSON: '],
    ['missing.jsonl', '{"text":"ok"}\n{"txt":"x"}\n', ':2: field "text" is missing.'],
    [
      'nonstring.jsonl',
      '{"text":"ok"}\n\n{"text":42}\n',
      ':3: field "text" must be a string, got number.',
    ],
    ['empty.jsonl', '{"text":"  "}\n', ':1: field "text" is empty.'],
    ['array.jsonl', '[1,2]\n', ':1: expected a JSON object, got an array.'],
    [
      'utf8.jsonl',
      Buffer.concat([
        Buffer.from('{"text":"ok"}\n{"text":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}\n'),
      ]),
      ':2: invalid UTF-8 byte sequence.',
    ],
  ];
  for (const [name, content, message] of cases) {
    it(name, async () => {
      const file = join(dir, name);
      await writeFile(file, content);
      const err = await readCorpus(file)
        .toArray()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CorpusError);
      expect((err as CorpusError).message.startsWith(`${file}${message}`)).toBe(true);
      expect((err as CbtmError).code).toBe('E_CORPUS_INVALID');
    });
  }

  it('a gzip that is cut short', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ id: `d${i}`, text: `document number ${i} ${'x'.repeat(i % 50)}` }),
    );
    const full = gzipSync(`${lines.join('\n')}\n`);
    const file = join(dir, 'cut.jsonl.gz');
    await writeFile(file, full.subarray(0, Math.floor(full.length * 0.6)));
    const reader = readCorpus(file);
    const seen: string[] = [];
    const err = await (async () => {
      try {
        for await (const d of reader) seen.push(d.id);
      } catch (e) {
        return e as CorpusError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CorpusError);
    expect(err!.reason).toBe('truncated-gzip');
    expect(seen.length).toBeGreaterThan(100);
    expect(err!.message).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${seen.length + 1}: gzip data is cut short or corrupt after line ${seen.length}`,
      ),
    );
  });

  it('skip mode counts what it skipped, by reason', async () => {
    const file = join(dir, 'mixed.jsonl');
    await writeFile(
      file,
      [
        '{"text":"a"}',
        '{oops',
        '{"text":""}',
        '{"text":"b"}',
        '{"x":1}',
        '{"text":5}',
        '{"text":"c"}',
      ].join('\n'),
    );
    const reader = readCorpus(file, { onInvalid: 'skip' });
    const docs = await reader.toArray();
    expect(docs.map((d) => d.text)).toEqual(['a', 'b', 'c']);
    expect(reader.stats.documents).toBe(3);
    expect(reader.stats.skipped).toEqual({
      'malformed-json': 1,
      'empty-text': 1,
      'missing-text': 1,
      'non-string-text': 1,
    });
    // And where: file and line of each, with what is wrong.
    expect(reader.stats.skippedAt.map((m) => m.split(': ')[0])).toEqual([
      `${file}:2`,
      `${file}:3`,
      `${file}:5`,
      `${file}:6`,
    ]);
  });

  it(`lists where the first ${MAX_SKIPPED_LISTED} skipped records were, and counts them all`, async () => {
    const file = join(dir, 'many-bad.jsonl');
    await writeFile(file, Array.from({ length: 30 }, () => '{oops').join('\n'));
    const reader = readCorpus(file, { onInvalid: 'skip' });
    expect(await reader.toArray()).toEqual([]);
    expect(reader.stats.skipped).toEqual({ 'malformed-json': 30 });
    expect(reader.stats.skippedAt).toHaveLength(MAX_SKIPPED_LISTED);
    expect(reader.stats.skippedAt[0]).toMatch(new RegExp(`^${file}:1: `));
  });
});
