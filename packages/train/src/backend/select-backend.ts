import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A tensor backend cbtm can train on, from fastest to slowest.
 *
 * @example
 * ```ts
 * const name: BackendName = await selectBackend();
 * ```
 */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/**
 * What {@link selectBackend} accepts: one backend, or `'auto'` for the best available.
 *
 * @example
 * ```ts
 * await selectBackend(flags.backend as BackendPreference);
 * ```
 */
export type BackendPreference = BackendName | 'auto';

/**
 * The ladder {@link selectBackend} walks in `'auto'` mode.
 *
 * @example
 * ```ts
 * BACKEND_LADDER.indexOf('wasm'); // 2
 * ```
 */
export const BACKEND_LADDER: readonly BackendName[] = Object.freeze([
  'tensorflow-gpu',
  'tensorflow',
  'wasm',
  'cpu',
]);

/**
 * Options of {@link selectBackend}.
 *
 * @example
 * ```ts
 * await selectBackend('auto', { log: (line) => logger.info(line) });
 * ```
 */
export interface SelectBackendOptions {
  /**
   * Receives the one line that says which backend was chosen and which were not available.
   * @default console.error (stderr, so JSON on stdout stays clean)
   */
  readonly log?: (line: string) => void;
}

/**
 * Default options of {@link selectBackend}.
 *
 * @example
 * ```ts
 * await selectBackend('auto', defaultSelectBackendOptions);
 * ```
 */
export const defaultSelectBackendOptions: Required<SelectBackendOptions> = {
  log: (line) => console.error(line),
};

const NATIVE_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

let selected: BackendName | undefined;
// Where the wasm backend finds its .wasm files; the ./node entry points it at the installed
// package (node-platform.ts). Unset, tfjs-backend-wasm looks next to its own script.
let wasmPaths: string | Readonly<Record<string, string>> | undefined;

/**
 * Sets where the wasm backend loads its `.wasm` files from, before {@link selectBackend} starts
 * it: a URL or folder prefix, or a map from file name to URL (what a bundler's asset URLs give).
 * `@cbtm/train/node` sets it to the installed package's folder.
 *
 * @example
 * ```ts
 * setWasmPaths('/assets/tfjs-wasm/');
 * await selectBackend('wasm');
 * ```
 */
export function setWasmPaths(prefix: string | Readonly<Record<string, string>> | undefined): void {
  wasmPaths = prefix;
}
let selecting: Promise<BackendName> | undefined;

/** Why one rung of the ladder could not be used, in a few words (never a stack trace). */
function shortReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  const first = String(e?.message ?? err).split('\n')[0] ?? '';
  return first.length > 80 ? `${first.slice(0, 77)}...` : first;
}

async function tryNative(name: 'tensorflow-gpu' | 'tensorflow'): Promise<void> {
  // Both packages register the backend under the name 'tensorflow'; the -gpu build links CUDA.
  await import(NATIVE_PACKAGE[name]);
  await import('./register-kernels.js');
  if (!(await tf.setBackend('tensorflow'))) throw new Error('backend failed to initialise');
}

async function tryWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  await import('./register-kernels.js');
  if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths as string | Record<string, string>);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend failed to initialise');
}

async function tryCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  await import('./register-kernels.js');
  if (!(await tf.setBackend('cpu'))) throw new Error('backend failed to initialise');
  // The cpu backend greets Node users with a multi-line banner; the ladder's log line says enough.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
}

async function tryBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return tryNative(name);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

/**
 * Picks the tensor backend once per process and makes it TensorFlow.js's active backend.
 * `'auto'` walks {@link BACKEND_LADDER} (`tensorflow-gpu`, `tensorflow`, `wasm`, `cpu`) and
 * logs one line naming the choice and what was missing. A named backend is used or the call
 * throws `E_BACKEND`. Detection runs once: later `'auto'` calls return the first choice, and a
 * later call naming another backend switches to it (or throws `E_BACKEND`).
 *
 * @example
 * ```ts
 * const backend = await selectBackend('auto'); // e.g. 'wasm'
 * ```
 */
export async function selectBackend(
  preferred: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendName> {
  if (preferred !== 'auto' && !BACKEND_LADDER.includes(preferred)) {
    throw new InvalidArgumentError(
      `Unknown backend "${String(preferred)}". Use one of: auto, ${BACKEND_LADDER.join(', ')}.`,
    );
  }
  if (selected !== undefined) {
    if (preferred !== 'auto' && preferred !== selected) {
      // Switching is allowed (tests compare backends); the first detection is not repeated.
      await switchBackend(preferred);
    }
    return selected;
  }
  if (selecting) return selecting;
  const log = options.log ?? defaultSelectBackendOptions.log;
  selecting = (async () => {
    const candidates = preferred === 'auto' ? BACKEND_LADDER : [preferred];
    const skipped: string[] = [];
    for (const name of candidates) {
      try {
        await tryBackend(name);
        selected = name;
        const note = skipped.length ? ` (${skipped.join('; ')})` : '';
        log(`cbtm/train: tensor backend ${name}${note}`);
        return name;
      } catch (err) {
        skipped.push(`${name}: ${shortReason(err)}`);
      }
    }
    throw new CbtmError(
      'E_BACKEND',
      `No tensor backend could start (${skipped.join('; ')}). Reinstall @cbtm/train so @tensorflow/tfjs-backend-wasm is present.`,
    );
  })();
  try {
    return await selecting;
  } finally {
    selecting = undefined;
  }
}

async function switchBackend(name: BackendName): Promise<void> {
  try {
    await tryBackend(name);
  } catch (err) {
    throw new CbtmError(
      'E_BACKEND',
      `The ${name} backend is not available here: ${shortReason(err)}.`,
      {
        cause: err,
      },
    );
  }
  selected = name;
}

/**
 * The backend {@link selectBackend} chose, or `undefined` before the first call.
 *
 * @example
 * ```ts
 * await selectBackend();
 * console.log(currentBackend()); // 'wasm'
 * ```
 */
export function currentBackend(): BackendName | undefined {
  return selected;
}

/**
 * Makes sure some backend is active: selects `'auto'` unless one was selected already.
 *
 * @example
 * ```ts
 * const name = await ensureBackend();
 * ```
 */
export async function ensureBackend(): Promise<BackendName> {
  return selected ?? selectBackend('auto');
}
