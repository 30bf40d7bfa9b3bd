// Run the whole c-BTM pipeline from code with @cbtm/pipeline's runPipeline(): embed, cluster,
// shard, tokenizer, experts, dense and random-cluster baselines, router, evaluation, report.
// It is what `cbtm run` does; the settings here are tiny so that it finishes in about a minute.
//
// Run: node tools/docs/run-example.mjs run-pipeline [out-dir]      (default: runs/example)
// Prints what each stage did, the perplexity table, and where the report is. Run it again and
// every stage is reused: a run resumes from what is on disk.
import { formatResultsTable, runPipeline } from '@cbtm/pipeline';

const out = process.argv[2] ?? 'runs/example';

const result = await runPipeline(
  {
    out,
    seed: 1,
    corpus: { limit: 300 }, // the first 300 documents of the built-in demo corpus
    embed: { dimension: 16 },
    cluster: { k: 3 },
    tokenizer: { vocabSize: 512 },
    model: { nLayer: 1, dModel: 32, nHead: 2, contextLength: 32 },
    train: { tokens: 20_000, seedTokens: 0, batchSize: 8, workers: 2 },
    eval: { maxDocs: 10, maxTokensPerDoc: 64, topK: [1, 2, 'all'] },
  },
  {
    // One progress event type for every stage; print only when a stage finishes.
    onProgress: (e) => {
      if (e.status === 'done' && !e.task) console.error(`${e.stage} done`);
    },
  },
);

for (const stage of result.stages) console.log(`${stage.name}: ${stage.status}`);
if (result.results) console.log(formatResultsTable(result.results, { report: result.report }));
