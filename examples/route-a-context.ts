// Route context embeddings to experts with @cbtm/route: w_j ∝ exp(−‖h − c_j‖² / T) over the top-k.
//
// Run: node tools/docs/run-example.mjs route-a-context
// Prints the experts and weights for the same vector at several temperatures and top-k.
import { ExactRouter } from '@cbtm/route/node';

// Three centroids in 2-D (row-major [k, d]): in a real run they come from `cbtm cluster`,
// and `loadRouter('runs/demo/router')` opens the saved router.
const centroids = new Float32Array([1, 0, 0, 1, -1, 0]);
const router = new ExactRouter(centroids, 3, 2);

const h = new Float32Array([0.8, 0.6]); // an L2-normalized context embedding
for (const [topK, temperature] of [
  [3, 0.1],
  [3, 1],
  [2, 0.1],
  [1, 0.1],
] as const) {
  const { experts, weights } = router.route(h, { topK, temperature });
  const shown = experts.map((j, i) => `${j}:${weights[i]!.toFixed(3)}`).join(' ');
  console.log(`topK=${topK} T=${temperature} -> ${shown}`);
}
