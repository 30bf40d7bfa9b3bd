#!/usr/bin/env node
// The only place that calls process.exit: it turns errors into one line and an exit code.
import { CommanderError } from 'commander';
import { runCli } from './cli.js';
import { EXIT_CODES, exitCodeFor, oneLine } from './exit-codes.js';

const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose') || process.env.CBTM_DEBUG === '1';

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts += 1;
  if (interrupts === 1) {
    process.stderr.write(
      `\ncbtm: ${signal}: stopping after the current step; run the same command again to resume. (Ctrl-C again to quit now.)\n`,
    );
    controller.abort(new Error(`Interrupted by ${signal}`));
  } else {
    process.exit(EXIT_CODES.interrupted);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  await runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    signal: controller.signal,
  });
  // Worker pools and native handles may keep the loop alive after the work is done.
  process.exit(EXIT_CODES.ok);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(EXIT_CODES.ok);
    process.stderr.write(`cbtm: ${oneLine(error).replace(/^error:\s*/, 'error: ')}\n`);
    process.exit(EXIT_CODES.usage);
  }
  const code = controller.signal.aborted ? EXIT_CODES.interrupted : exitCodeFor(error);
  if (code === EXIT_CODES.interrupted) {
    process.stderr.write(
      'cbtm: interrupted. Finished work is saved; rerun the same command to resume.\n',
    );
  } else {
    const hint =
      code === EXIT_CODES.internal && !verbose ? ' (rerun with --verbose for details)' : '';
    process.stderr.write(`cbtm: error: ${oneLine(error)}${hint}\n`);
  }
  if (verbose && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  process.exit(code);
}
