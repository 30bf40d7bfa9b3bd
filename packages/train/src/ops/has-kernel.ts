import * as tf from '@tensorflow/tfjs-core';

/** True when the active backend has `kernelName` (cbtm's fused kernels exist on wasm and cpu). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** What a fused op's forward returns: its value and how to turn dy into input gradients. */
export interface FusedResult {
  readonly value: tf.Tensor;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** `tf.customGrad` with plain typing: `fn(inputs, save)` → {value, gradFunc}. */
export function fusedOp(
  fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => FusedResult,
): (...inputs: tf.Tensor[]) => tf.Tensor {
  const f = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return fn(args as tf.Tensor[], save);
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (
    ...inputs: tf.Tensor[]
  ) => tf.Tensor;
}
