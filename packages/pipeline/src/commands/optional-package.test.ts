import { CbtmError } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { importOptional } from './optional-package.js';

const notFound = (name: string) =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /x/cli.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });

describe('importOptional', () => {
  it('loads the package when it is installed', async () => {
    await expect(importOptional('@cbtm/serve', 'cbtm serve', async () => 42)).resolves.toBe(42);
  });

  it('says which package to install when it is missing', async () => {
    const err = await importOptional('@cbtm/queue', 'cbtm worker', () =>
      Promise.reject(notFound('@cbtm/queue')),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CbtmError);
    expect((err as CbtmError).message).toContain('`cbtm worker` needs the optional package');
    expect((err as CbtmError).message).toContain('npm install @cbtm/queue');
    expect((err as CbtmError).cause).toBeInstanceOf(Error);
  });

  it('passes on other errors, such as a missing dependency of the package itself', async () => {
    const other = notFound('bullmq');
    await expect(
      importOptional('@cbtm/queue', 'cbtm worker', () => Promise.reject(other)),
    ).rejects.toBe(other);
  });
});
