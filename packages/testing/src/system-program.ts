import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/**
 * A program installed on the machine (not through npm) that some tests need.
 *
 * @example
 * ```ts
 * const redis: SystemProgram = { name: 'redis-server', install: 'apt-get install redis-server', usedFor: 'the queue tests' };
 * ```
 */
export interface SystemProgram {
  /** The program's name, looked up on PATH unless `path` is given. */
  readonly name: string;
  /** Where the program must be (for programs looked up at a fixed path). */
  readonly path?: string;
  /** The command that installs it. */
  readonly install: string;
  /** Which tests need it, for the line printed when they are skipped. */
  readonly usedFor: string;
}

/**
 * `redis-server`, which the job-queue tests start on a free port.
 *
 * @example
 * ```ts
 * describeWithProgram(REDIS_SERVER, 'training queue', () => { ... });
 * ```
 */
export const REDIS_SERVER: SystemProgram = Object.freeze({
  name: 'redis-server',
  install: 'apt-get install redis-server (macOS: brew install redis)',
  usedFor: 'the job-queue tests',
});

/**
 * Debian's Chromium, which the browser tests drive through playwright-core. `CBTM_CHROMIUM`
 * points them at another Chromium binary.
 *
 * @example
 * ```ts
 * const path = findProgram(CHROMIUM); // '/usr/bin/chromium' or undefined
 * ```
 */
export const CHROMIUM: SystemProgram = Object.freeze({
  name: 'chromium',
  path: process.env.CBTM_CHROMIUM ?? '/usr/bin/chromium',
  install: 'apt-get install chromium (or set CBTM_CHROMIUM to a Chromium binary)',
  usedFor: 'the browser tests',
});

/**
 * `curl`, which the serve tests use as a plain HTTP client: OpenAI's completions API, streamed
 * and not, as any tool that speaks it would send it.
 *
 * @example
 * ```ts
 * describeWithProgram(CURL, 'the server through curl', () => { ... });
 * ```
 */
export const CURL: SystemProgram = Object.freeze({
  name: 'curl',
  install: 'apt-get install curl',
  usedFor: 'the curl tests of the server',
});

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `program`, or undefined when it is not installed.
 *
 * @example
 * ```ts
 * findProgram(REDIS_SERVER, { PATH: '/usr/bin' }); // '/usr/bin/redis-server' when installed
 * ```
 */
export function findProgram(
  program: SystemProgram,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (program.path !== undefined) return executable(program.path) ? program.path : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, program.name);
    if (executable(file)) return file;
  }
  return undefined;
}

/**
 * What to do about a program's tests: run them (`found`), skip them with a one-line message
 * (`skip`), or, on CI (`CI=true`), where every test must run, fail them (`fail`).
 *
 * @example
 * ```ts
 * const check: ProgramCheck = checkProgram(REDIS_SERVER);
 * ```
 */
export type ProgramCheck =
  | { readonly status: 'found'; readonly path: string }
  | { readonly status: 'skip'; readonly message: string }
  | { readonly status: 'fail'; readonly message: string };

/**
 * Looks for `program` and decides what its tests do (see {@link ProgramCheck}).
 *
 * @example
 * ```ts
 * checkProgram(REDIS_SERVER, { PATH: '/nowhere' }).status; // 'skip'
 * checkProgram(REDIS_SERVER, { PATH: '/nowhere', CI: 'true' }).status; // 'fail'
 * ```
 */
export function checkProgram(
  program: SystemProgram,
  env: NodeJS.ProcessEnv = process.env,
): ProgramCheck {
  const path = findProgram(program, env);
  if (path !== undefined) return { status: 'found', path };
  const where = program.path ?? `${program.name} on PATH`;
  if (env.CI === 'true') {
    return {
      status: 'fail',
      message: `${where} is missing, and CI=true runs every test: install it with \`${program.install}\`.`,
    };
  }
  return {
    status: 'skip',
    message: `skipped: ${program.usedFor} need ${where}, which is not installed; install it with \`${program.install}\` to run them.`,
  };
}

/**
 * `describe(title, body)` when `program` is installed. Without it the suite is skipped and one
 * line says which program is missing and how to install it; with `CI=true` the suite is
 * replaced by one failing test that says the same, so CI never silently runs fewer tests.
 *
 * @example
 * ```ts
 * describeWithProgram(REDIS_SERVER, 'training queue', () => {
 *   beforeAll(async () => { redis = await startRedis(); });
 *   it('trains two experts', async () => { ... });
 * });
 * ```
 */
export function describeWithProgram(
  program: SystemProgram,
  title: string,
  body: () => void,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const check = checkProgram(program, env);
  if (check.status === 'found') {
    describe(title, body);
  } else if (check.status === 'fail') {
    describe(title, () => {
      it(`needs ${program.name}`, () => {
        throw new Error(check.message);
      });
    });
  } else {
    process.stderr.write(`${check.message}\n`);
    describe.skip(title, body);
  }
}
