// Regenerates cbtm.config.schema.json and cbtm.sweep.schema.json from the zod schemas (run
// `npm run schema` after `tsc -b`).
import { writeFileSync } from 'node:fs';
import { configJsonSchema, sweepConfigJsonSchema } from '../dist/index.js';

for (const [name, schema] of [
  ['cbtm.config.schema.json', configJsonSchema()],
  ['cbtm.sweep.schema.json', sweepConfigJsonSchema()],
]) {
  const file = new URL(`../${name}`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
}
