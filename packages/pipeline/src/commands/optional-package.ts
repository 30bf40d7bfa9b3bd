import { CbtmError } from '@cbtm/core';

/**
 * Imports one of the CLI's optional packages (`@cbtm/serve`, `@cbtm/queue`), which only the
 * commands that need them load, so `runPipeline` users never install Redis or server code.
 */
export async function importOptional<T>(
  name: '@cbtm/serve' | '@cbtm/queue',
  command: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      String((err as Error).message).includes(name)
    ) {
      throw new CbtmError(
        'E_INVALID_ARGUMENT',
        `\`${command}\` needs the optional package ${name}, which is not installed. Install it beside @cbtm/pipeline: npm install ${name}`,
        { cause: err },
      );
    }
    throw err;
  }
}
