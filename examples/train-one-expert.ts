// Train one expert language model with @cbtm/train: a shared BPE tokenizer and a small
// GPT-style model, trained on one domain's documents (in c-BTM, one cluster's shard).
//
// Run: node tools/docs/run-example.mjs train-one-expert [out-dir]
// Prints the tokenizer's size, the tensor backend, the held-out loss every 20 steps (it goes
// down), and where the model was saved.
import { demoCorpusPath, readCorpus } from '@cbtm/core/node';
import { GptModel, trainBpeTokenizer, trainLanguageModel } from '@cbtm/train/node';

const out = process.argv[2] ?? 'runs/example-expert';

// One domain of the demo corpus stands in for one cluster. Hold out a few documents.
const docs = (await readCorpus(demoCorpusPath()).toArray()).filter((d) => d.domain === 'religion');
const train = docs.slice(10);
const heldOut = docs.slice(0, 10);

// Every expert of a run shares one tokenizer; it saves as a Hugging Face tokenizer.json.
const tokenizer = await trainBpeTokenizer(train, { vocabSize: 512, seed: 1 });
console.log(`tokenizer: ${tokenizer.vocabSize} ids`);

// A tiny model, so the example runs in seconds on a CPU. `cbtm run` defaults to
// 2 layers, d 128, 4 heads, context 128.
const model = await GptModel.create(
  { vocabSize: tokenizer.vocabSize, nLayer: 2, dModel: 64, nHead: 4, contextLength: 64 },
  { seed: 1 },
);

const result = await trainLanguageModel({
  model,
  tokenizer,
  data: train,
  evalData: heldOut,
  steps: 60,
  batchSize: 8,
  lr: 3e-3,
  evalEvery: 20,
  evalTokens: 2048,
  seed: 1,
});
console.log(`backend: ${result.backend}`);
console.log(`trained ${result.steps} steps, ${result.tokens} tokens`);
const curve = result.history.filter((h) => h.valLoss !== undefined);
console.log(
  `held-out loss by step: ${curve.map((h) => `${h.step}: ${h.valLoss!.toFixed(3)}`).join(', ')}`,
);

await model.save(out);
console.log(`saved to ${out}`);
model.dispose();
