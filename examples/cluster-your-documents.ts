// Cluster your own documents with only @cbtm/embed and @cbtm/cluster (no TensorFlow.js, no
// language models): tf-idf → truncated SVD embeddings, then balanced k-means.
//
// Run: node tools/docs/run-example.mjs cluster-your-documents [file.txt] [k]
// With a file, each non-empty line is one document; without one, a built-in list of 18 short
// documents on three topics is used. Prints each cluster's size and its documents, then the
// cluster of two new texts. Balanced: cluster sizes differ by at most one.
import { readFile } from 'node:fs/promises';
import { fitBalancedKMeans } from '@cbtm/cluster';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';

const [file, kArg] = process.argv.slice(2);
const docs = file
  ? (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '')
  : [
      'Bake the bread in a hot oven; this recipe needs flour, butter and an oven at 220 degrees.',
      'Cook the pasta, then stir the tomato sauce; the recipe serves four and needs fresh basil.',
      'Whisk eggs, sugar and flour, then bake the cake in the oven for thirty minutes.',
      'This soup recipe simmers vegetables with butter; cook it slowly and add salt at the end.',
      'Knead the dough, let the bread rise, then bake it; every bread recipe needs time.',
      'Melt butter, add flour and milk, and cook the sauce until thick, as the recipe says.',
      'The telescope showed the planet Saturn and its rings; every star looked sharp.',
      'A supernova is the explosion of a star; telescopes see its light from other galaxies.',
      'The planets orbit the sun, a star; the moon orbits the earth, a planet.',
      'Astronomers point the telescope at a distant galaxy full of stars and planets.',
      'A comet crossed the sky near the planet Mars; a small telescope showed its tail.',
      'Each star in the galaxy may have planets; a space telescope looks for them.',
      'The function returns a promise; call the function and await the result in your code.',
      'Compile the program, run the tests and fix the bug in the function that parses the code.',
      'The compiler reports a type error when a function in the program returns the wrong type.',
      'Install the package, import the module, and call its function from your program code.',
      'The program reads each line of the file; a function parses the line into a record.',
      'Write a unit test for the function so the bug in the program code cannot come back.',
    ];
const k = Number(kArg ?? 3);

// Embeddings: scikit-learn-exact tf-idf (English stop words, numbers dropped), then an SVD.
const embedder = await TfidfSvdEmbedder.fit(docs, { nComponents: 4, seed: 1 });
const points = new Float32Array(docs.length * embedder.dimension);
let n = 0;
for await (const v of embedder.embed(docs)) points.set(v, n++ * embedder.dimension);

// Balanced k-means: every cluster gets ⌊n/k⌋ or ⌈n/k⌉ documents.
const { model, assignments, sizes } = await fitBalancedKMeans(points, n, embedder.dimension, {
  k,
  seed: 1,
});
for (let j = 0; j < k; j++) {
  console.log(`cluster ${j} (${sizes[j]} documents)`);
  for (let i = 0; i < n; i++) if (assignments[i] === j) console.log(`  ${docs[i]}`);
}

// New documents go to their nearest centroid: that is how c-BTM routes a context to experts.
for (const text of ['Bake the cake in the oven.', 'The moon and the stars at night.']) {
  const { indices } = model.nearest(await embedder.embedText(text), 1);
  console.log(`${JSON.stringify(text)} -> cluster ${indices[0]}`);
}
