import { Rng } from '@cbtm/core';
import { fitBalancedKMeans, DistanceEngine } from './dist/index.js';
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
for (const balance of [true,false]) {
  let t=performance.now();
  const r=await fitBalancedKMeans(x,n,D,{k,balance,seed:0});
  console.log(balance, ((performance.now()-t)/1000).toFixed(3), r.iterations);
}
const eng=new DistanceEngine(x,n,D);
const c=x.slice(0,k*D);
let t=performance.now();
for(let i=0;i<20;i++) eng.distances(c,k);
console.log('20 distance passes', ((performance.now()-t)/1000).toFixed(3));
