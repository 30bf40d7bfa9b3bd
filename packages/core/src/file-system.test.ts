import { describe, expect, it } from 'vitest';
import { CbtmError } from './errors.js';
import { type FileSystem, fileSystem, registerFileSystem } from './file-system.js';

describe('the file-system registry', () => {
  it('throws E_NO_FILE_SYSTEM, saying what to import, until one is registered', async () => {
    expect(registerFileSystem(undefined)).toBeUndefined();
    const err = (() => {
      try {
        fileSystem();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CbtmError);
    expect(err).toMatchObject({ code: 'E_NO_FILE_SYSTEM' });
    expect((err as Error).message).toContain('"./node" entry');
  });

  it('returns the registered one, and registering hands back the previous', async () => {
    const files = new Map<string, string>();
    const memory: FileSystem = {
      join: (...parts) => parts.join('/'),
      readBytes: async (p) => new TextEncoder().encode(files.get(p)),
      readJson: async (p) => JSON.parse(files.get(p)!),
      writeAtomic: async (p, data) => {
        files.set(p, typeof data === 'string' ? data : new TextDecoder().decode(data));
      },
      writeJsonAtomic: async (p, v) => {
        files.set(p, JSON.stringify(v));
      },
    };
    registerFileSystem(memory);
    await fileSystem().writeJsonAtomic(fileSystem().join('a', 'b.json'), { x: 1 });
    expect(await fileSystem().readJson('a/b.json')).toEqual({ x: 1 });
    const { nodeFileSystem } = await import('./node-file-system.js');
    // Importing the Node module registers it.
    expect(fileSystem()).toBe(nodeFileSystem);
    expect(registerFileSystem(memory)).toBe(nodeFileSystem);
    expect(registerFileSystem(nodeFileSystem)).toBe(memory);
  });
});
