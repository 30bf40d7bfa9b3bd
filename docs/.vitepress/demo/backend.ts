/**
 * Picks a TensorFlow.js backend in the browser: wasm (fast for small models), then webgl, then
 * the pure-JS cpu backend, whichever initializes first. `?backend=cpu` in the page URL forces
 * one. Imported only by the demo component, so other pages never load TensorFlow.js.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Backends in the order the demo tries them. */
export const BACKENDS = ['wasm', 'webgl', 'cpu'] as const;
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
        if (await tf.setBackend(name)) {
          await tf.ready();
          // A tiny op proves the backend really runs here (webgl may exist but fail).
          const probe = tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([1, 2, 3]), 2)));
          const v = (await probe.data())[0];
          probe.dispose();
          if (v === 12) return name;
        }
      } catch {
        // try the next one
      }
    }
    throw new Error('No TensorFlow.js backend could start in this browser.');
  })();
  return chosen;
}
