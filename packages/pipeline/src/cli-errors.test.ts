import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { runBin } from './test-utils/spawn-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One `cbtm: error: ...` line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(run: { stdout: string; stderr: string }, pattern: RegExp): void {
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^cbtm: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

/** Errors found mid-run may follow progress lines, but end with the one error line. */
function expectFinalOneLineError(run: { stdout: string; stderr: string }, pattern: RegExp): void {
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(
    lines.filter((l) => l.startsWith('cbtm: error: ')),
    run.stderr,
  ).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^cbtm: error: /);
  expect(lines.at(-1)).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('bad inputs give one line and a non-zero exit', () => {
  it('a missing corpus', async () => {
    const run = await runBin([
      'run',
      '--corpus',
      join(dir, 'nope.jsonl'),
      '--out',
      join(dir, 'r1'),
    ]);
    expect(run.code).toBe(EXIT_CODES.corpus);
    expectOneLineError(run, /Corpus not found: .*nope\.jsonl/);
  });

  it('an empty corpus', async () => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const run = await runBin(['run', '--corpus', empty, '--out', join(dir, 'r2')]);
    expect(run.code).toBe(EXIT_CODES.corpus);
    expectOneLineError(run, /empty\.jsonl holds no documents/);
  });

  it('a malformed corpus line names file and line', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"text": "fine"}\n{"text": oops}\n');
    const run = await runBin(['cluster', '--corpus', bad, '--k', '1', '--out', join(dir, 'r3')]);
    expect(run.code).toBe(EXIT_CODES.corpus);
    expectFinalOneLineError(run, /bad\.jsonl:2: malformed JSON/);
  });

  it('k larger than the number of documents', async () => {
    const small = join(dir, 'small.jsonl');
    await writeFile(
      small,
      ['alpha beta gamma', 'beta gamma delta', 'gamma delta alpha']
        .map((text) => JSON.stringify({ text }))
        .join('\n'),
    );
    const run = await runBin(['cluster', '--corpus', small, '--k', '5', '--out', join(dir, 'r6')]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expectFinalOneLineError(
      run,
      /k = 5 is larger than the number of training documents \(3\)\. Choose --k ≤ 3\./,
    );
  });

  it('a malformed config file', async () => {
    const cfg = join(dir, 'broken.json');
    await writeFile(cfg, '{ "cluster": { "k": 4, } ');
    const run = await runBin(['run', '--config', cfg, '--out', join(dir, 'r4')]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expectOneLineError(run, /broken\.json is not valid JSON/);
  });

  it('a config with a bad field names it and the allowed values', async () => {
    const cfg = join(dir, 'invalid.json');
    await writeFile(cfg, JSON.stringify({ embed: { embedder: 'word2vec' } }));
    const run = await runBin(['run', '--config', cfg]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expectOneLineError(
      run,
      /field "embed\.embedder" must be one of "tfidf", "transformers", got "word2vec"/,
    );
  });

  it('a bad flag value', async () => {
    const run = await runBin(['run', '--k', '0', '--out', join(dir, 'r5')]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expectOneLineError(run, /--k: field "cluster\.k" must be an integer ≥ 1, got 0/);
  });

  it('a bad --top-k or serve limit, before any run is opened', async () => {
    for (const [args, pattern] of [
      [
        ['generate', '--run', 'x', '-p', 'a', '--top-k', '1.5'],
        /'--top-k <k>' argument '1\.5' is invalid\. expected an integer ≥ 1 or "all"/,
      ],
      [['eval', '--run', 'x', '--top-k', '1,two'], /such as 1,2,all\), got "1,two"/],
      [
        ['serve', '--run', 'x', '--workers', '0'],
        /'--workers <n>' argument '0' is invalid\. expected an integer ≥ 1/,
      ],
      [['serve', '--run', 'x', '--max-queue', '-1'], /'--max-queue <n>' argument '-1' is invalid/],
      [
        ['serve', '--run', 'x', '--request-timeout', 'soon'],
        /'--request-timeout <ms>' argument 'soon' is invalid/,
      ],
    ] as const) {
      const run = await runBin([...args]);
      expect(run.code, args.join(' ')).toBe(EXIT_CODES.usage);
      expectOneLineError(run, pattern);
    }
  });

  it('a run directory from another format version', async () => {
    const runDir = join(dir, 'future');
    await mkdir(runDir, { recursive: true });
    await writeFile(
      join(runDir, 'manifest.json'),
      JSON.stringify({
        format: 'cbtm-run',
        version: 99,
        createdAt: '',
        updatedAt: '',
        config: {},
        stages: {},
      }),
    );
    for (const args of [
      ['eval', '--run', runDir],
      ['run', '--out', runDir],
      ['report', '--run', runDir],
    ]) {
      const run = await runBin(args);
      expect(run.code, args.join(' ')).toBe(EXIT_CODES.run);
      expectOneLineError(run, /run format version 99 .* reads up to version 1\. Upgrade cbtm/);
    }
  });

  it('a directory that is not a run', async () => {
    const run = await runBin(['eval', '--run', join(dir, 'not-a-run')]);
    expect(run.code).toBe(EXIT_CODES.run);
    expectOneLineError(run, /is not a cbtm run directory/);
  });

  it('an unknown command or a missing required flag', async () => {
    const a = await runBin(['frobnicate']);
    expect(a.code).toBe(EXIT_CODES.usage);
    expectOneLineError(a, /unknown command 'frobnicate'/);
    const b = await runBin(['generate', '--run', dir]);
    expect(b.code).toBe(EXIT_CODES.usage);
    expectOneLineError(b, /required option '-p, --prompt <text>' not specified/);
  });

  it('--help prints examples and exits 0', async () => {
    for (const cmd of ['run', 'cluster', 'train', 'eval', 'generate', 'report']) {
      const run = await runBin([cmd, '--help']);
      expect(run.code, cmd).toBe(0);
      expect(run.stdout, cmd).toContain('Examples:');
      expect(run.stdout, cmd).toContain(`$ cbtm ${cmd}`);
    }
  });
});
