// Load a trained run with @cbtm/ensemble and score text: the mixture's perplexity, which experts
// ran, and how the routing weights change along the text.
//
// Run: node tools/docs/run-example.mjs score-text [run-dir]        (default: runs/demo)
// Make the run first with `npm start` (or the run-pipeline example). Prints, for each text,
// its perplexity with the top-1, top-2 and all-expert mixtures, then the route of every
// complete word of the first text: the experts mixed there and their weights.
import { loadRun } from '@cbtm/ensemble/node';

const runDir = process.argv[2] ?? 'runs/demo';
const run = await loadRun(runDir, { log: () => {} });
const ensemble = run.cbtm;
console.log(`${runDir}: ${ensemble.k} experts, backend ${run.backend}`);

const texts = [
  'In the beginning God created the heaven and the earth.',
  'Permission is hereby granted, free of charge, to any person obtaining a copy of this software.',
];

for (const text of texts) {
  // Every setting scores the same tokens, so the perplexities compare directly.
  const shown: string[] = [];
  for (const [label, topK] of [
    ['1', 1],
    ['2', 2],
    ['all', ensemble.k],
  ] as const) {
    const score = await ensemble.scoreSequence(text, { topK });
    shown.push(`${label}: ${score.perplexity.toFixed(2)}`);
  }
  console.log(`${JSON.stringify(text.slice(0, 30))}… perplexity by top-k: ${shown.join(', ')}`);
}

// Routes are recomputed as words complete, so they follow the text; show where they change.
const { tokens, routes } = await ensemble.scoreSequence(texts[0]!, { topK: 2 });
let previous = '';
for (let t = 0; t < tokens.length; t++) {
  const route = routes[t]!;
  const text = route.experts.map((j, i) => `${j}:${route.weights[i]!.toFixed(2)}`).join(' ');
  if (text === previous) continue;
  previous = text;
  const token = ensemble.tokenizer.decode([tokens[t]!]);
  console.log(`before ${JSON.stringify(token)} -> experts ${text}`);
}
await run.dispose();
