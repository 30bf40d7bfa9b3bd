import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, checkProgram, findProgram, REDIS_SERVER } from './system-program.js';

describe('checkProgram', () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'cbtm-testing-'));
    await writeFile(join(bin, 'redis-server'), '#!/bin/sh\n');
    await chmod(join(bin, 'redis-server'), 0o755);
    // Present but not executable: not a program.
    await writeFile(join(bin, 'chromium'), '');
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('finds a program on PATH', () => {
    const env = { PATH: ['/nonexistent', bin].join(':') };
    expect(findProgram(REDIS_SERVER, env)).toBe(join(bin, 'redis-server'));
    expect(checkProgram(REDIS_SERVER, env)).toEqual({
      status: 'found',
      path: join(bin, 'redis-server'),
    });
    expect(findProgram({ ...REDIS_SERVER, name: 'chromium' }, env)).toBeUndefined();
  });

  it('skips with one line naming the program and its install command', () => {
    const check = checkProgram(REDIS_SERVER, { PATH: '/nonexistent' });
    expect(check.status).toBe('skip');
    const message = (check as { message: string }).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('redis-server');
    expect(message).toContain('apt-get install redis-server');
    expect(message).toContain('the job-queue tests');
  });

  it('fails instead of skipping when CI=true', () => {
    const check = checkProgram(REDIS_SERVER, { PATH: '/nonexistent', CI: 'true' });
    expect(check.status).toBe('fail');
    expect((check as { message: string }).message).toContain('apt-get install redis-server');
    expect(checkProgram(REDIS_SERVER, { PATH: '/nonexistent', CI: 'false' }).status).toBe('skip');
  });

  it('looks at a fixed path for programs that have one', () => {
    const chromium = { ...CHROMIUM, path: join(bin, 'missing-chromium') };
    const check = checkProgram(chromium, { PATH: bin });
    expect(check.status).toBe('skip');
    expect((check as { message: string }).message).toContain(join(bin, 'missing-chromium'));
    expect((check as { message: string }).message).toContain('apt-get install chromium');
    expect(checkProgram({ ...CHROMIUM, path: join(bin, 'redis-server') }, {}).status).toBe('found');
  });
});
