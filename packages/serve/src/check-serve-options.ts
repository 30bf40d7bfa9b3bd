import { InvalidArgumentError } from '@cbtm/core';

/** Throws an `InvalidArgumentError` naming the first out-of-range option. */
export function checkServeOptions(o: {
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxGenerateTokens: number;
}): void {
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new InvalidArgumentError(`port must be an integer in 0..65535, got ${o.port}.`);
  }
  if (!(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes > 0)) {
    throw new InvalidArgumentError(
      `maxBodyBytes must be a positive integer, got ${o.maxBodyBytes}.`,
    );
  }
  if (!(Number.isInteger(o.maxGenerateTokens) && o.maxGenerateTokens > 0)) {
    throw new InvalidArgumentError(
      `maxGenerateTokens must be a positive integer, got ${o.maxGenerateTokens}.`,
    );
  }
}
