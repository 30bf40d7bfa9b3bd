// Regenerates cbtm.config.schema.json from the zod schema (run `npm run schema` after `tsc -b`).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/index.js';

const file = new URL('../cbtm.config.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
