// Embed documents with a transformers.js sentence-embedding model from a local folder
// (@cbtm/embed's TransformersEmbedder), instead of the default tf-idf → SVD.
//
// Run: node tools/docs/run-example.mjs transformers-embedder <model-folder> [save-dir]
// The folder holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx, for
// example a download of Xenova/all-MiniLM-L6-v2. Nothing is downloaded unless you pass
// allowRemoteModels: true. Prints the dimension, each document's cosine similarity to the
// others, and the saved embedder's kind and dimension after loading it back.
import { loadEmbedder, TransformersEmbedder } from '@cbtm/embed/node';

const [folder, saveDir = 'runs/example-transformers-embedder'] = process.argv.slice(2);
if (!folder) {
  console.error('usage: transformers-embedder <model-folder> [save-dir]');
  process.exit(2);
}

const embedder = await TransformersEmbedder.create({ model: folder });
console.log(`dimension ${embedder.dimension}`);

const docs = [
  'the cat sat on the mat',
  'a small dog runs on the red mat',
  'hello world',
  'In the beginning God created the heaven and the earth.',
];
// embed() batches and streams: it takes any (async) iterable of strings or documents.
const vectors: Float32Array[] = [];
for await (const v of embedder.embed(docs)) vectors.push(v);

// The vectors are L2-normalized, so a dot product is the cosine similarity.
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
for (const [i, a] of vectors.entries()) {
  console.log(`doc ${i}: ${vectors.map((b) => dot(a, b).toFixed(3)).join(' ')}`);
}

// A run stores the embedder's settings; loadEmbedder() reopens whichever kind it is.
await embedder.save(saveDir);
const again = await loadEmbedder(saveDir);
console.log(`reloaded: ${again.kind}, dimension ${again.dimension}`);
await embedder.close();
if (again instanceof TransformersEmbedder) await again.close();
