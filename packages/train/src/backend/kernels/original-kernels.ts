import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

const originals = new Map<string, KernelConfig>();
const setUp = new WeakSet<object>();

/** Remembers a backend's own kernel before cbtm replaces it, so odd cases can still use it. */
export function rememberOriginalKernel(kernelName: string, backendName: string): void {
  const key = `${backendName}_${kernelName}`;
  if (originals.has(key)) return;
  const config = getKernel(kernelName, backendName);
  if (config) originals.set(key, config);
}

/**
 * Runs the backend's own kernel for the cases a replacement does not handle. The replaced
 * kernels' `setupFunc`s never ran (they were unregistered before the backend started), and
 * originals call each other (Sum calls Transpose), so all of them run here, once per backend
 * instance.
 */
export function runOriginalKernel(
  kernelName: string,
  backendName: string,
  args: { inputs: Record<string, TensorInfo>; backend: object; attrs?: NamedAttrMap },
): TensorInfo | TensorInfo[] {
  const key = `${backendName}_${kernelName}`;
  const config = originals.get(key);
  if (!config) throw new Error(`No original ${kernelName} kernel for ${backendName}.`);
  if (!setUp.has(args.backend)) {
    for (const [k, c] of originals)
      if (k.startsWith(`${backendName}_`)) c.setupFunc?.(args.backend as never);
    setUp.add(args.backend);
  }
  return (config.kernelFunc as KernelFunc)(args as Parameters<KernelFunc>[0]);
}
