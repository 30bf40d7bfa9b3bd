import { CbtmError } from '@cbtm/core';
import type { CommandContext } from '../cli.js';
import type { TopK } from '../config/schema.js';
import { verifyModelFiles } from '../model-files.js';
import { stageContext } from '../run-pipeline.js';
import { expertLimit } from '../top-k-flag.js';
import { resolveMixingFlags } from './mixing-flags.js';
import { importOptional } from './optional-package.js';
import { openExistingRun, overridesFrom } from './shared.js';

/** Flags of `cbtm serve`, as commander parses them. */
export interface ServeFlags {
  readonly run: string;
  readonly port?: number;
  readonly host?: string;
  /** From `--api-key` or `CBTM_API_KEY`. */
  readonly apiKey?: string;
  readonly cors?: readonly string[];
  readonly allowedHost?: readonly string[];
  readonly maxLoadedExperts?: number;
  /** Parsed by the CLI (`parseTopK`). */
  readonly topK?: TopK;
  readonly temperature?: number | string;
  readonly backend?: string;
  readonly maxBodyBytes?: number;
  readonly maxTokens?: number;
  /** `--max-request-tokens`: most tokens one request may generate, all its choices together. */
  readonly maxRequestTokens?: number;
  /** `--max-text-chars`: longest text or prompt, in characters. */
  readonly maxTextChars?: number;
  /** `--workers`: model worker threads, each with its own copy of the ensemble. */
  readonly workers?: number;
  /** `--requests-per-worker`: requests each worker runs at once, their steps batched per expert. */
  readonly requestsPerWorker?: number;
  /** `--slide-stride`: tokens each expert's window slides at a time past its context. */
  readonly slideStride?: number;
  /** `--max-queue`: requests that may wait for the model (then 429). */
  readonly maxQueue?: number;
  /** `--request-timeout`: longest a request may take, in ms (0: no limit; then 504). */
  readonly requestTimeout?: number;
  readonly mixing?: string;
  readonly priorCorpus?: string;
  readonly priorDocs?: number;
}

/**
 * `cbtm serve --run DIR`: serves the run's ensemble over HTTP until Ctrl-C (see `createServer`),
 * then shuts down gracefully. Prints the URL on stdout, the endpoints and one access-log line
 * per request on stderr. `--api-key` (or `CBTM_API_KEY`, which commander reads) sets the key. Defaults for
 * requests that do not say: routing temperature from the run config (`eval.temperature`), all
 * experts unless `--top-k`.
 *
 * @example
 * ```ts
 * await serveCommand({ run: 'runs/demo', port: 8080 }, ctx); // returns after ctx.signal aborts
 * ```
 */
export async function serveCommand(flags: ServeFlags, ctx: CommandContext): Promise<void> {
  const { run, config } = await openExistingRun(
    flags.run,
    ctx,
    overridesFrom(flags as unknown as Record<string, unknown>, ['temperature', 'backend']),
  );
  for (const stage of ['experts', 'router'] as const) {
    if (!run.stageDone(stage)) {
      throw new CbtmError(
        'E_STAGE_MISSING',
        `${run.dir} has no finished ${stage} stage yet. Run \`cbtm run --out ${run.dir}\` (or, after training with \`cbtm worker\`, \`cbtm train --run ${run.dir}\`) first.`,
      );
    }
  }
  await verifyModelFiles(run);
  const topK = expertLimit(flags.topK);
  // The run's corpus is only looked at when a BTM mixing rule needs a prior.
  const mixingGiven = [flags.mixing, flags.priorCorpus, flags.priorDocs].some(
    (f) => f !== undefined,
  );
  const mixing = mixingGiven
    ? resolveMixingFlags(flags, ctx, await stageContext(run, config))
    : null;
  const { createServer, defaultServeOptions } = await importOptional(
    '@cbtm/serve',
    'cbtm serve',
    () => import('@cbtm/serve'),
  );
  const server = await createServer(run.dir, {
    port: flags.port ?? defaultServeOptions.port,
    host: flags.host ?? defaultServeOptions.host,
    ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
    ...(flags.cors?.length ? { cors: flags.cors } : {}),
    ...(flags.allowedHost?.length ? { allowedHosts: flags.allowedHost } : {}),
    ...(flags.maxLoadedExperts !== undefined ? { maxLoadedExperts: flags.maxLoadedExperts } : {}),
    ...(flags.maxBodyBytes !== undefined ? { maxBodyBytes: flags.maxBodyBytes } : {}),
    ...(flags.maxTokens !== undefined ? { maxGenerateTokens: flags.maxTokens } : {}),
    ...(flags.maxRequestTokens !== undefined ? { maxRequestTokens: flags.maxRequestTokens } : {}),
    ...(flags.maxTextChars !== undefined ? { maxTextChars: flags.maxTextChars } : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.requestsPerWorker !== undefined
      ? { requestsPerWorker: flags.requestsPerWorker }
      : {}),
    ...(flags.slideStride !== undefined ? { slideStride: flags.slideStride } : {}),
    ...(flags.maxQueue !== undefined ? { maxQueue: flags.maxQueue } : {}),
    ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
    backend: config.train.backend,
    routing: { temperature: config.eval.temperature, ...(topK !== undefined ? { topK } : {}) },
    ...(mixing ? { mixing: mixing.rule } : {}),
    ...(mixing?.prior
      ? { priorDocuments: mixing.prior.docs(), priorMaxDocuments: mixing.maxDocuments }
      : {}),
    signal: ctx.signal,
    log: (line) => ctx.stderr.write(`${line}\n`),
  });
  ctx.stderr.write(
    `Serving ${run.dir} (${server.ensemble.k} experts, ${server.backend}) on ${server.url}` +
      `${flags.apiKey ? ' (API key required)' : ''}\n` +
      `  GET  ${server.url}/health\n` +
      `  OpenAI API at ${server.url}/v1 (models: cbtm${server.models.includes('dense') ? ', dense' : ''})\n` +
      `  POST ${server.url}/v1/completions {"model": "cbtm", "prompt": "...", "max_tokens": 64, "stream": true}\n` +
      `  POST ${server.url}/v1/route     {"text": "..."}\n` +
      `  POST ${server.url}/v1/score     {"text": "...", "topK": 2}\n` +
      `  POST ${server.url}/v1/generate  {"prompt": "...", "maxTokens": 64, "seed": 1, "stream": true}\n` +
      'Ctrl-C stops it.\n',
  );
  ctx.stdout.write(`${server.url}\n`);
  await server.closed;
  ctx.stderr.write('Server stopped.\n');
}
