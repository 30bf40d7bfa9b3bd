// Child process for the crash test: rewrites a run's manifest forever, until killed.
// It runs the built package (dist), so `nx test` builds first.
import { RunDir } from '../../dist/node.js';

const run = await RunDir.open(process.argv[2]);
const big = Array.from({ length: 20000 }, (_, i) => `entry-${i}-${'x'.repeat(40)}`);
process.send?.('ready');
for (let i = 0; ; i++) await run.setConfig({ big, i });
