// Generate text with the c-BTM ensemble (@cbtm/ensemble): tokens stream out one by one, each
// with the experts that produced it and their weights.
//
// Run: node tools/docs/run-example.mjs generate-text [run-dir] [prompt]   (default: runs/demo)
// Prints the continuation token by token as `token  [expert:weight ...]`, then the whole text.
// The same seed gives the same text.
import { loadRun } from '@cbtm/ensemble/node';

const runDir = process.argv[2] ?? 'runs/demo';
const prompt = process.argv[3] ?? 'And God said';
const run = await loadRun(runDir, { log: () => {} });
const ensemble = run.cbtm;

let text = prompt;
for await (const t of ensemble.generate(prompt, {
  maxTokens: 24,
  temperature: 0.8, // sampling temperature
  topP: 0.95,
  seed: 7,
  routing: { topK: 2, temperature: 0.1 }, // mix the 2 nearest experts, T = 0.1
})) {
  const experts = t.experts.map((j, i) => `${j}:${t.weights[i]!.toFixed(2)}`).join(' ');
  console.log(`${JSON.stringify(t.token).padEnd(16)} [${experts}]`);
  text += t.token;
}
console.log(`\n${text}`);
await run.dispose();
