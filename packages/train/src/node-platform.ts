// The Node.js side effects of @cbtm/train, in one place: importing @cbtm/core/node registers the
// file system that GptModel and BpeTokenizer load and save with, and the wasm backend is pointed
// at the installed package's .wasm files. The ./node entry and the worker scripts import this.
import '@cbtm/core/node';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setWasmPaths } from './backend/select-backend.js';

const require = createRequire(import.meta.url);
// Node cannot start wasm threads; the plain SIMD binary is the one that runs here.
setWasmPaths(
  `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
);
