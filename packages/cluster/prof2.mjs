import { Rng } from '@cbtm/core';
import { DistanceEngine } from './dist/index.js';
import { solveBalanced } from './dist/balanced-assignment.js';
import { kmeansPlusPlus } from './dist/kmeans-init.js';
const D=100;
function sphereMixture(n, d, seed) {
  const rng = new Rng(seed);
  const blobs = 64;
  const means = Float64Array.from({ length: blobs * d }, () => rng.normal());
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const b = rng.int(0, blobs - 1);
    let s = 0;
    for (let t = 0; t < d; t++) { const v = means[b * d + t] + 1.5 * rng.normal(); x[i * d + t] = v; s += v * v; }
    const norm = Math.sqrt(s);
    for (let t = 0; t < d; t++) x[i * d + t] /= norm;
  }
  return x;
}
const n=Number(process.argv[2]), k=Number(process.argv[3]);
const x=sphereMixture(n,D,2024+n);
const eng=new DistanceEngine(x,n,D);
let t=performance.now();
const c=kmeansPlusPlus(eng,x,k,new Rng(1));
console.log('kmeans++', (performance.now()-t).toFixed(1),'ms');
const {data,stride}=eng.distances(c,k);
t=performance.now();
let r=solveBalanced(data,n,k,stride,undefined);
console.log('cold solve', (performance.now()-t).toFixed(1),'ms', r.stats);
// warm: perturb
t=performance.now();
for(let i=0;i<10;i++) r=solveBalanced(data,n,k,stride,r.prices);
console.log('warm solve x10', (performance.now()-t).toFixed(1),'ms', r.stats);
t=performance.now();
const sums=new Float64Array(k*D); 
for(let rep=0;rep<10;rep++){ sums.fill(0);
for (let i = 0; i < n; i++) { const a = r.assignments[i]; const o=i*D, cc=a*D; for (let q = 0; q < D; q++) sums[cc + q] += x[o + q]; } }
console.log('centroid sums x10', (performance.now()-t).toFixed(1),'ms');
for (let rep=0;rep<2;rep++){ t=performance.now();
kmeansPlusPlus(eng,x,k,new Rng(2+rep));
console.log('kmeans++ again', (performance.now()-t).toFixed(1),'ms');}
