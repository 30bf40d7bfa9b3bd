import { PassThrough } from 'node:stream';
import type { CommandContext } from '../cli.js';

/** A command context whose stdout and stderr are kept as text, for calling commands in tests. */
export function captureContext(
  cwd: string,
  signal = new AbortController().signal,
): CommandContext & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return { stdout, stderr, cwd, signal, tty: false, out: () => out, err: () => err };
}
