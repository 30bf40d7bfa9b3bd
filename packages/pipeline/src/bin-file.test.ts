import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

describe('the cbtm bin', () => {
  it('is a committed file outside dist/, so npm links it right after `npm ci`, before any build', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      bin: Record<string, string>;
      files: string[];
    };
    const bin = pkg.bin.cbtm!;
    expect(bin).not.toMatch(/^(\.\/)?dist\//);
    const file = new URL(bin, root);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o111).not.toBe(0);
    expect(pkg.files).toContain(bin.replace(/^\.\//, '').split('/')[0]);
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs the built CLI', () => {
    const out = execFileSync(process.execPath, [new URL('bin/cbtm.js', root).pathname, '--help'], {
      encoding: 'utf8',
    });
    expect(out).toContain('Usage: cbtm');
    expect(out).toContain('export-web');
  });
});
