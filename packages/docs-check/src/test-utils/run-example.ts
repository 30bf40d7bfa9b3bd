import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './paths.js';

const exec = promisify(execFile);

/** What an example printed. */
export interface ExampleOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node tools/docs/run-example.mjs <name> [args]`, the command the docs show, without the
 * rebuild (the test file builds once). Rejects with the output when the exit code is not 0.
 */
export async function runExample(
  name: string,
  args: readonly string[] = [],
  timeoutMs = 120_000,
): Promise<ExampleOutput> {
  const runner = join(ROOT, 'tools', 'docs', 'run-example.mjs');
  try {
    const { stdout, stderr } = await exec(process.execPath, [runner, name, ...args, '--no-build'], {
      cwd: ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(
      `example ${name} failed (exit ${e.code}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

/**
 * Type-checks and compiles every example against the packages' built types (`tsc -p`; the
 * package's `build`, which nx runs before `test`, is `tsc -b` and builds the packages too).
 */
export async function buildExamples(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await exec(
      process.execPath,
      [tsc, '-p', join(ROOT, 'packages', 'docs-check', 'tsconfig.json')],
      {
        cwd: ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`examples do not type-check:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
