import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../tools/test-summary.sh', import.meta.url));

describe('tools/test-summary.sh', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbtm-summary-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const summarize = async (log: string): Promise<string> => {
    const file = join(dir, 'test.log');
    await writeFile(file, log);
    return execFileSync('bash', [script, file], { encoding: 'utf8' }).trim();
  };

  it('adds up passed, failed and skipped tests over every package, and lists why tests were skipped', async () => {
    const log = [
      '@cbtm/core:test:  Test Files  4 passed (4)',
      '@cbtm/core:test:       Tests  \x1b[32m30 passed\x1b[39m (30)',
      'skipped: the job-queue tests need redis-server on PATH, which is not installed; install it with `apt-get install redis-server` to run them.',
      '@cbtm/pipeline:test: skipped: the job-queue tests need redis-server on PATH, which is not installed; install it with `apt-get install redis-server` to run them.',
      '@cbtm/pipeline:test:  Test Files  1 failed | 9 passed | 2 skipped (12)',
      '@cbtm/pipeline:test:       Tests  1 failed | 50 passed | 7 skipped (58)',
      '@cbtm/docs-check:test:       Tests  3 skipped (3)',
    ].join('\n');
    expect((await summarize(log)).split('\n')).toEqual([
      'skipped: the job-queue tests need redis-server on PATH, which is not installed; install it with `apt-get install redis-server` to run them.',
      'tests: 80 passed, 1 failed, 10 skipped',
    ]);
  });

  it('says 0 skipped when nothing was skipped', async () => {
    expect(await summarize('      Tests  12 passed (12)\n')).toBe(
      'tests: 12 passed, 0 failed, 0 skipped',
    );
  });
});
