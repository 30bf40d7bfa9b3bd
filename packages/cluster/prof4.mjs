import { Rng } from '@cbtm/core';
import { DistanceEngine } from './dist/index.js';
const D=100, n=10000;
const rng=new Rng(3);
const x=Float32Array.from({length:n*D},()=>rng.normal());
const eng=new DistanceEngine(x,n,D);
for (const k of [1,4,5,8,16,32]) {
const c=x.slice(0,k*D);
let buf; eng.distances(c,k);
let t=performance.now();
for(let i=0;i<50;i++) buf=eng.distances(c,k,buf?.data);
console.log(k, ((performance.now()-t)/50).toFixed(2),'ms');
}
