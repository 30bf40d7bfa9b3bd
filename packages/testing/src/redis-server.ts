import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProgram, REDIS_SERVER } from './system-program.js';

/** A private redis-server for one test file. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function tryStart(bin: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not start within 10 s:\n${output}`)),
      10_000,
    );
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  return { child, port };
}

/**
 * Starts `redis-server` on a free port, without persistence, in a temp folder. Call it inside
 * `describeWithProgram(REDIS_SERVER, ...)`, which skips the tests when it is not installed.
 */
export async function startRedis(): Promise<TestRedis> {
  const check = checkProgram(REDIS_SERVER);
  if (check.status !== 'found') throw new Error(check.message);
  const bin = check.path;
  const dir = await mkdtemp(join(tmpdir(), 'cbtm-redis-'));
  let started: { child: ChildProcess; port: number } | undefined;
  let lastError: unknown;
  // Another process may take the free port between the probe and redis-server's bind.
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    try {
      started = await tryStart(bin, dir);
    } catch (err) {
      lastError = err;
    }
  }
  if (!started) throw lastError;
  const { child, port } = started;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
