// Stream a corpus with @cbtm/core: count the demo corpus's documents per domain.
//
// Run: node tools/docs/run-example.mjs read-a-corpus [corpus.jsonl.gz]
// Prints one line per domain, `<domain> <documents>`, then the total.
import { demoCorpusPath, readCorpus } from '@cbtm/core/node';

const path = process.argv[2] ?? demoCorpusPath();

// readCorpus streams .jsonl, .jsonl.gz, .txt files or folders of them; nothing is held in memory.
const corpus = readCorpus(path, { onInvalid: 'skip' });
const perDomain = new Map<string, number>();
for await (const doc of corpus) {
  const domain = doc.domain ?? '(none)';
  perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1);
}

for (const [domain, n] of [...perDomain].sort()) console.log(`${domain} ${n}`);
const skipped = Object.values(corpus.stats.skipped).reduce((a, b) => a + (b ?? 0), 0);
console.log(`total ${corpus.stats.documents} documents, ${skipped} skipped`);
