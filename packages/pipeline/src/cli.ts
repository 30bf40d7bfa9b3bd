import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseTopK, parseTopKList } from './top-k-flag.js';

/**
 * What every command receives besides its flags: output streams, the working folder, Ctrl-C.
 *
 * @example
 * ```ts
 * const ctx: CommandContext = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal: new AbortController().signal };
 * ```
 */
export interface CommandContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Folder that relative paths are resolved against. */
  readonly cwd: string;
  /** Fires on Ctrl-C; commands pass it to every long call. */
  readonly signal: AbortSignal;
  /** Bars (true) or plain log lines (false); auto-detected when absent. */
  readonly tty?: boolean;
}

/** A flag value that must be a number; non-numbers pass through as text so the config check names them. */
function numberOrText(value: string): number | string {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}".`);
  }
  return n;
}

function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n < 1) throw new InvalidArgumentError(`expected an integer ≥ 1, got "${value}".`);
  return n;
}

/** `--mixing`, shared by eval, generate and serve. */
function mixingOption(): Option {
  return new Option(
    '--mixing <rule>',
    'how experts are weighted: c-BTM centroid distance, or BTM’s cached or updating prior',
  ).choices(['distance', 'cached-prior', 'updating-prior']);
}

const priorCorpusOption = [
  '--prior-corpus <path>',
  'held-out documents to estimate the prior over experts from (default for cached-prior: the run’s validation corpus)',
] as const;

const priorDocsOption = [
  '--prior-docs <n>',
  'documents read for the prior (default 16)',
  positiveInt,
] as const;

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Builds the `cbtm` command tree. Each command's code is loaded only when it runs.
 *
 * @example
 * ```ts
 * await createProgram(ctx).parseAsync(['run', '--k', '4'], { from: 'user' });
 * ```
 */
export function createProgram(ctx: CommandContext): Command {
  const program = new Command('cbtm')
    .description(
      'c-BTM: cluster a corpus, train one small expert language model per cluster, and mix them at inference.',
    )
    .version(version(), '-V, --version')
    .option('--verbose', 'print stack traces of errors (or set CBTM_DEBUG=1)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      // bin.ts prints the one error line, so commander stays quiet.
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      examples([
        'cbtm run                                   # the whole pipeline on the built-in demo corpus',
        'cbtm run --corpus data/my.jsonl.gz --k 8 --out runs/my',
        'cbtm eval --run runs/demo --json',
        'cbtm generate --run runs/demo --prompt "The LORD said"',
      ]),
    );

  program
    .command('run')
    .description(
      'Run every stage in order (embed, cluster, shard, tokenizer, seed, experts, dense, random, router, eval, report). Finished stages with the same config are skipped; an interrupted stage resumes.',
    )
    .option(
      '-c, --config <file>',
      'config file (default: ./cbtm.config.json, .mjs or .ts if present)',
    )
    .option(
      '--corpus <path>',
      'training corpus (.jsonl, .jsonl.gz, .txt, or a folder); default: the demo corpus',
    )
    .option('--valid <path>', 'validation corpus for eval')
    .option('-k, --k <n>', 'number of clusters (experts)', numberOrText)
    .option(
      '--balance-slack <s>',
      'let cluster sizes stray up to this fraction from N/k (default 0: exact balance)',
      numberOrText,
    )
    .option('-o, --out <dir>', 'run directory (default: runs/demo)')
    .option(
      '--tokens <n>',
      'training tokens of the experts together (dense and random get the same)',
      numberOrText,
    )
    .option('--workers <n>', 'experts trained in parallel', numberOrText)
    .option('--backend <name>', 'tensor backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--seed <n>', 'seed of every random choice', numberOrText)
    .option(
      '--skip-invalid',
      'skip bad corpus records (malformed JSON, missing or empty text) instead of stopping at the first; reports how many and where',
    )
    .option(
      '--seed-from-hf <dir>',
      'branch every model from this local GPT-2-layout Hugging Face checkpoint (config.json, model.safetensors, tokenizer.json) and use its tokenizer (sets train.seedFrom)',
    )
    .addHelpText(
      'after',
      examples([
        'cbtm run',
        'cbtm run --config cbtm.config.json',
        'cbtm run --corpus data/train.jsonl.gz --valid data/valid.jsonl.gz --k 8 --out runs/big',
      ]),
    )
    .action(async (opts) => (await import('./commands/run.js')).runCommand(opts, ctx));

  program
    .command('sweep')
    .description(
      'Scaling sweep: train and evaluate a grid of k × training budget that shares one embedding, tokenizer and seed model (k = 1 is the dense model); resumable. Writes sweep-results.json and the perplexity-vs-tokens figure (sweep-report.html).',
    )
    .requiredOption(
      '-c, --config <file>',
      'sweep config: a run config plus {"sweep": {"k": [...], "tokens": [...]}}',
    )
    .option('--corpus <path>', 'training corpus, overriding the config’s corpus.train')
    .option('--valid <path>', 'validation corpus, overriding the config’s corpus.valid')
    .option('-o, --out <dir>', 'sweep folder, overriding the config’s out')
    .addHelpText(
      'after',
      examples([
        'cbtm sweep --config sweep.json',
        'cbtm sweep --config tools/docs/sweep-corpus-v1.config.json --corpus data/train.jsonl.gz --valid data/valid.jsonl.gz',
      ]),
    )
    .action(async (opts) => (await import('./commands/sweep.js')).sweepCommand(opts, ctx));

  program
    .command('cluster')
    .description(
      'Embed the corpus, fit balanced k-means, assign every document, write the shards and the cluster metrics.',
    )
    .option('-c, --config <file>', 'config file')
    .option('--corpus <path>', 'training corpus (default: the demo corpus)')
    .option('-k, --k <n>', 'number of clusters', numberOrText)
    .option('-o, --out <dir>', 'run directory')
    .addOption(
      new Option('--embedder <kind>', 'document embedder').choices(['tfidf', 'transformers']),
    )
    .option('--model <path>', 'model folder of the transformers embedder')
    .option('--sample <n>', 'fit the clusterer on a sample of this many documents', numberOrText)
    .option(
      '--balance-slack <s>',
      'let cluster sizes stray up to this fraction from N/k (default 0: exact balance)',
      numberOrText,
    )
    .option('--seed <n>', 'seed', numberOrText)
    .option(
      '--skip-invalid',
      'skip bad corpus records (malformed JSON, missing or empty text) instead of stopping at the first; reports how many and where',
    )
    .addHelpText(
      'after',
      examples([
        'cbtm cluster --corpus data/train.jsonl.gz --k 8 --out runs/my',
        'cbtm cluster --corpus data/ --k 16 --out runs/my --embedder transformers --model models/minilm',
      ]),
    )
    .action(async (opts) => (await import('./commands/cluster.js')).clusterCommand(opts, ctx));

  program
    .command('train')
    .description(
      'Train the experts of a clustered run (and optionally the dense and random-cluster baselines). Resumes from checkpoints.',
    )
    .requiredOption('-r, --run <dir>', 'run directory (made by `cbtm cluster` or `cbtm run`)')
    .addOption(
      new Option('--expert <j>', 'train only expert j').argParser(nonNegativeInt).conflicts('all'),
    )
    .option('--all', 'train every expert (the default)')
    .option('--dense', 'also train the dense baseline')
    .option('--random', 'also train the random-cluster baseline')
    .option('--tokens <n>', 'training tokens of the experts together', numberOrText)
    .option('--workers <n>', 'experts trained in parallel', numberOrText)
    .option('--backend <name>', 'tensor backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .addHelpText(
      'after',
      examples([
        'cbtm train --run runs/my --all --workers 2',
        'cbtm train --run runs/my --expert 3',
        'cbtm train --run runs/my --dense --random',
      ]),
    )
    .action(async (opts) => (await import('./commands/train.js')).trainCommand(opts, ctx));

  program
    .command('eval')
    .description(
      'Perplexity of c-BTM (each top-k) and the baselines on the validation corpus, overall and per domain.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .option('--corpus <path>', 'evaluate on this corpus instead of the run’s validation corpus')
    .option(
      '--top-k <k>',
      'experts mixed per token: an integer or "all"; several comma-separated (1,2,all)',
      parseTopKList,
    )
    .option('--temperature <t>', 'routing temperature T', numberOrText)
    .option('--json', 'print the results object as JSON on stdout')
    .addOption(mixingOption())
    .option(...priorCorpusOption)
    .option(...priorDocsOption)
    .addHelpText(
      'after',
      examples([
        'cbtm eval --run runs/demo',
        'cbtm eval --run runs/demo --json > results.json',
        'cbtm eval --run runs/demo --top-k 1,4 --temperature 0.05',
        'cbtm eval --run runs/demo --mixing updating-prior',
      ]),
    )
    .action(async (opts) => (await import('./commands/eval.js')).evalCommand(opts, ctx));

  program
    .command('generate')
    .description(
      'Generate text with the c-BTM ensemble; tokens stream to stdout, the experts used go to stderr.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .requiredOption('-p, --prompt <text>', 'prompt')
    .option('--max-tokens <n>', 'tokens to generate', positiveInt, 64)
    .option('--seed <n>', 'sampling seed', nonNegativeInt, 1)
    .option('--top-k <k>', 'experts mixed per token (an integer or "all")', parseTopK)
    .option('--temperature <t>', 'routing temperature T', numberOrText)
    .addOption(mixingOption())
    .option(...priorCorpusOption)
    .option(...priorDocsOption)
    .addHelpText(
      'after',
      examples([
        'cbtm generate --run runs/demo --prompt "The LORD said unto Moses"',
        'cbtm generate --run runs/demo --prompt "import json" --max-tokens 100 --seed 7',
        'cbtm generate --run runs/demo --prompt "The court" --mixing cached-prior --prior-corpus data/legal.jsonl',
      ]),
    )
    .action(async (opts) => (await import('./commands/generate.js')).generateCommand(opts, ctx));

  program
    .command('report')
    .description(
      'Write <run>/report.html: one self-contained page with the clusters, the embedding map, loss curves and perplexities.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .addHelpText('after', examples(['cbtm report --run runs/demo']))
    .action(async (opts) => (await import('./commands/report.js')).reportCommand(opts, ctx));

  program
    .command('serve')
    .description(
      'Serve a run’s ensemble over HTTP: the OpenAI API (GET /v1/models, POST /v1/completions, streamed with "stream": true) and cbtm’s own POST /v1/route, /v1/score, /v1/generate; GET /health. Ctrl-C stops it gracefully.',
    )
    .requiredOption('-r, --run <dir>', 'run directory (experts and router trained)')
    .option('--port <n>', 'TCP port (0 picks a free one)', nonNegativeInt, 8080)
    .option(
      '--host <addr>',
      'address to listen on (0.0.0.0 for other machines: set --api-key too)',
      '127.0.0.1',
    )
    .addOption(
      new Option(
        '--api-key <key>',
        'requests to /v1/* must send "Authorization: Bearer <key>" (at least 8 characters)',
      ).env('CBTM_API_KEY'),
    )
    .option(
      '--cors <origin>',
      'let browser pages from this origin call the server (repeatable; * for any)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--allowed-host <name>',
      'also accept this Host header name (repeatable; on loopback only localhost, 127.0.0.1 and ::1 are)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--max-loaded-experts <n>', 'experts kept in memory at once', positiveInt)
    .option(
      '--top-k <k>',
      'experts mixed per token when a request does not say (an integer or "all")',
      parseTopK,
    )
    .option('--temperature <t>', 'routing temperature T when a request does not say', numberOrText)
    .option('--backend <name>', 'tensor backend: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--max-tokens <n>', 'most tokens one /v1/generate request may ask for', positiveInt)
    .option('--max-body-bytes <n>', 'largest request body in bytes', positiveInt)
    .option(
      '--max-request-tokens <n>',
      'most tokens one request may generate, all its prompts and choices together (default 4096)',
      positiveInt,
    )
    .option(
      '--max-text-chars <n>',
      'longest text or prompt a request may send, in characters (default 16384)',
      positiveInt,
    )
    .option(
      '--workers <n>',
      'model worker threads, each with its own copy of the ensemble (default 1)',
      positiveInt,
    )
    .option(
      '--requests-per-worker <n>',
      'requests each worker runs at once, their generation steps batched per expert; 1: one at a time (default 8)',
      positiveInt,
    )
    .option(
      '--slide-stride <n>',
      "past the context, slide each expert's window n tokens at a time; 1: exact, re-reads a whole window per token (default: a quarter of the context)",
      positiveInt,
    )
    .option(
      '--max-queue <n>',
      'requests that may wait for a worker; past it the server answers 429 with Retry-After (default 32)',
      nonNegativeInt,
    )
    .option(
      '--request-timeout <ms>',
      'longest a request may take before it is stopped with 504, in ms; 0: no limit (default 120000)',
      nonNegativeInt,
    )
    .addOption(mixingOption())
    .option(...priorCorpusOption)
    .option(...priorDocsOption)
    .addHelpText(
      'after',
      examples([
        'cbtm serve --run runs/demo',
        'cbtm serve --run runs/demo --host 0.0.0.0 --port 8080 --top-k 2',
        'CBTM_API_KEY=my-secret-key cbtm serve --run runs/demo --cors http://localhost:5173',
        `curl -sN localhost:8080/v1/generate -H 'content-type: application/json' -d '{"prompt": "And God said", "maxTokens": 32, "stream": true}'`,
      ]),
    )
    .action(async (opts) => (await import('./commands/serve.js')).serveCommand(opts, ctx));

  program
    .command('merge')
    .description(
      'Average the parameters of a run’s experts into one dense model (BTM’s merge), uniformly or weighted by their posterior on a corpus. Writes a new model folder that train.seedFrom can branch from; --eval scores it next to c-BTM and dense.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .requiredOption(
      '-o, --out <dir>',
      'new model folder, outside the run directory (an existing one only if merge made it)',
    )
    .addOption(
      new Option('--weights <how>', 'averaging weights')
        .choices(['uniform', 'posterior'])
        .default('uniform'),
    )
    .option(
      '--corpus <path>',
      'documents whose likelihood weights the experts (--weights posterior)',
    )
    .option(
      '--max-docs <n>',
      'documents of --corpus read for the posterior (default 16)',
      positiveInt,
    )
    .option('--eval', 'score the merged model next to c-BTM and dense on the validation corpus')
    .option('--json', 'with --eval, print the results as JSON')
    .addHelpText(
      'after',
      examples([
        'cbtm merge --run runs/demo --out models/demo-uniform --eval',
        'cbtm merge --run runs/demo --weights posterior --corpus data/legal.jsonl --out models/demo-legal',
      ]),
    )
    .action(async (opts) => (await import('./commands/merge.js')).mergeCommand(opts, ctx));

  program
    .command('remove-expert')
    .description(
      'Take one expert out of a run’s ensemble (routing renormalizes over the rest; nothing else changes). Its folder moves to <run>/removed-experts/, so --restore puts it back.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .addOption(
      new Option('--expert <j>', 'the expert to remove')
        .argParser(nonNegativeInt)
        .conflicts('restore'),
    )
    .addOption(new Option('--restore <j>', 'put a removed expert back').argParser(nonNegativeInt))
    .addHelpText(
      'after',
      examples([
        'cbtm remove-expert --run runs/demo --expert 2',
        'cbtm remove-expert --run runs/demo --restore 2',
      ]),
    )
    .action(async (opts) =>
      (await import('./commands/remove-expert.js')).removeExpertCommand(opts, ctx),
    );

  program
    .command('export-hf')
    .description(
      'Write one model of a run (an expert, the dense baseline or the seed) as a Hugging Face GPT-2 causal LM: config.json, tokenizer files, model.safetensors and onnx/model.onnx, which transformers.js loads from local files.',
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .addOption(
      new Option('--expert <j>', 'export expert j')
        .argParser(nonNegativeInt)
        .conflicts(['dense', 'seed']),
    )
    .addOption(new Option('--dense', 'export the dense baseline').conflicts('seed'))
    .option('--seed', 'export the seed model the experts branched from')
    .requiredOption(
      '-o, --out <dir>',
      'export folder, outside the run directory (an existing one only if empty or an earlier export)',
    )
    .addHelpText(
      'after',
      examples([
        'cbtm export-hf --run runs/demo --expert 0 --out exports/demo-expert-0',
        'cbtm export-hf --run runs/demo --dense --out exports/demo-dense',
      ]),
    )
    .action(async (opts) => (await import('./commands/export-hf.js')).exportHfCommand(opts, ctx));

  program
    .command('assign')
    .description(
      'Assign every document of a new corpus to a run’s clusters (nearest centroid, streaming), writing assignments, shards and metrics (documents per cluster; purity and NMI when documents have a domain). The run is not changed.',
    )
    .requiredOption('-r, --run <dir>', 'run directory (clustered)')
    .requiredOption('--corpus <path>', 'the new corpus (.jsonl, .jsonl.gz, or a folder)')
    .option(
      '-o, --out <dir>',
      'output folder (default: <run>/assigned/<corpus name>; an existing one only if assign made it)',
    )
    .addHelpText(
      'after',
      examples([
        'cbtm assign --run runs/demo --corpus data/new.jsonl.gz',
        'cbtm assign --run runs/demo --corpus data/valid.jsonl.gz --out runs/demo-valid-clusters',
      ]),
    )
    .action(async (opts) => (await import('./commands/assign.js')).assignCommand(opts, ctx));

  program
    .command('add-expert')
    .description(
      'Grow a trained run by experts for new data: cluster the new corpus in the run’s embedding space, branch each new expert from the experts nearest to it (or the seed), train it, then add its centroid to the router. The existing experts’ files are not touched. Then scores the run again.',
    )
    .requiredOption('-r, --run <dir>', 'run directory (trained)')
    .requiredOption('--corpus <path>', 'the new training corpus')
    .option('--clusters <m>', 'new clusters (and experts) to make from the corpus', positiveInt, 1)
    .option(
      '--tokens <n>',
      'training tokens of each new expert (default: the run’s per-expert budget, train.tokens / k)',
      numberOrText,
    )
    .addOption(
      new Option('--init <how>', 'where a new expert starts')
        .choices(['nearest', 'seed'])
        .default('nearest'),
    )
    .option(
      '--init-top-k <n>',
      'experts averaged for --init nearest, weighted by the new centroid’s routing weights',
      positiveInt,
      2,
    )
    .option('--no-eval', 'skip scoring the grown run and rewriting its report')
    .addHelpText(
      'after',
      examples([
        'cbtm add-expert --run runs/demo --corpus data/fiction.jsonl.gz',
        'cbtm add-expert --run runs/demo --corpus data/new.jsonl.gz --clusters 2 --tokens 200000 --init seed',
      ]),
    )
    .action(async (opts) => (await import('./commands/add-expert.js')).addExpertCommand(opts, ctx));

  const redisOption = () =>
    new Option('--redis <url>', 'Redis URL of the training queue')
      .env('CBTM_REDIS_URL')
      .default('redis://127.0.0.1:6379');
  const queueNameOption = () =>
    new Option('--queue <name>', 'queue name (separates pools of workers)').default('cbtm-train');
  const queue = program
    .command('queue')
    .description(
      'Train experts on many machines: a BullMQ job queue on Redis (the run directory must be on a shared file system, at the same path everywhere).',
    );
  queue
    .command('enqueue')
    .description(
      'Queue one training job per expert (and the baselines with --dense/--random), with the run config’s training settings. Idempotent.',
    )
    .requiredOption('-r, --run <dir>', 'run directory (made by `cbtm cluster`)')
    .addOption(redisOption())
    .addOption(queueNameOption())
    .option('--experts <list>', 'only these experts, comma-separated (default: all)')
    .option('--dense', 'also queue the dense baseline')
    .option('--random', 'also queue the random-cluster baseline')
    .option('--tokens <n>', 'training tokens of the experts together', numberOrText)
    .option('--backend <name>', 'tensor backend of the workers')
    .addHelpText(
      'after',
      examples([
        'cbtm queue enqueue --run /shared/runs/big --redis redis://10.0.0.5:6379',
        'cbtm queue enqueue --run /shared/runs/big --experts 0,3 --dense',
      ]),
    )
    .action(async (opts) => (await import('./commands/queue.js')).queueEnqueueCommand(opts, ctx));
  queue
    .command('status')
    .description('Each model’s job state (waiting, active, completed, failed) and step.')
    .requiredOption('-r, --run <dir>', 'run directory')
    .addOption(redisOption())
    .addOption(queueNameOption())
    .option('--json', 'print the status as JSON')
    .addHelpText('after', examples(['cbtm queue status --run /shared/runs/big --json']))
    .action(async (opts) => (await import('./commands/queue.js')).queueStatusCommand(opts, ctx));

  program
    .command('worker')
    .description(
      'Train queued experts until Ctrl-C (the running expert checkpoints and goes back to the queue). Start one or more per machine.',
    )
    .addOption(redisOption())
    .addOption(queueNameOption())
    .option('--concurrency <n>', 'jobs trained at once, one process each', positiveInt, 1)
    .option('--until-empty', 'exit once no job is waiting or running')
    .option(
      '--lock-seconds <n>',
      'how long a dead worker’s job stays locked before another worker resumes it (default 30)',
      positiveInt,
    )
    .addHelpText(
      'after',
      examples(['cbtm worker --redis redis://10.0.0.5:6379', 'cbtm worker --until-empty']),
    )
    .action(async (opts) => (await import('./commands/queue.js')).workerCommand(opts, ctx));

  program
    .command('export-web')
    .description(
      "Export a finished run for the browser: tokenizer, embedder, centroids, the experts' TensorFlow.js models and a manifest (what the docs site's demo page loads).",
    )
    .requiredOption('-r, --run <dir>', 'run directory')
    .requiredOption('-o, --out <dir>', 'output folder, replaced as a whole (e.g. docs/public/demo)')
    .option('--experts <list>', 'export only these experts, comma-separated (default: all)')
    .option(
      '--prompt <text>',
      'a prompt the page offers; repeat for several',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--top-k <k>',
      'experts mixed per token when the page opens: an integer or "all" (default: all)',
      parseTopK,
    )
    .option(
      '--temperature <t>',
      'routing temperature T the page starts with (default: 0.1)',
      numberOrText,
    )
    .addHelpText('after', examples(['cbtm export-web --run runs/demo --out docs/public/demo']))
    .action(async (opts) => (await import('./export-web/command.js')).exportWebCommand(opts, ctx));

  return program;
}

/**
 * Parses `argv` (without `node` and the script) and runs the command. Rejects with the command's
 * error; a `CommanderError` for bad flags, `--help` and `--version` (exit code 0 for the last two).
 *
 * @example
 * ```ts
 * await runCli(['eval', '--run', 'runs/demo', '--json'], { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal });
 * ```
 */
export async function runCli(argv: readonly string[], ctx: CommandContext): Promise<void> {
  const program = createProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    throw new CommanderError(2, 'cbtm.noCommand', 'error: no command given. Try `cbtm run`.');
  }
  await program.parseAsync([...argv], { from: 'user' });
}
