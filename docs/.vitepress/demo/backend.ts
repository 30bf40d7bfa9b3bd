/**
 * Starts a TensorFlow.js backend in the browser through `@cbtm/train`'s backend ladder, so the
 * demo runs the same patched kernels as Node.js: wasm (fast for small models), then the pure-JS
 * cpu backend. `?backend=cpu` in the page URL forces one. Imported only by the demo component,
 * so other pages never load TensorFlow.js.
 */
import { type BackendName, selectBackend, setWasmPaths } from '@cbtm/train';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Backends in the order the demo tries them. */
export const BACKENDS = ['wasm', 'cpu'] as const satisfies readonly BackendName[];
export type DemoBackend = (typeof BACKENDS)[number];

let chosen: Promise<DemoBackend> | undefined;

/** Initializes the first backend that works (or `preferred`), once. */
export function initBackend(preferred?: string | null): Promise<DemoBackend> {
  chosen ??= (async () => {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    });
    const order = BACKENDS.filter((b) => !preferred || b === preferred);
    for (const name of order.length > 0 ? order : BACKENDS) {
      try {
        await selectBackend(name, { log: (line) => console.info(line) });
        return name;
      } catch {
        // try the next one
      }
    }
    throw new Error('No TensorFlow.js backend could start in this browser.');
  })();
  return chosen;
}
