import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradients of the core ops cbtm differentiates. tfjs-core's Node build does not register
 * any (the `@tensorflow/tfjs` bundle normally does), so these cover what the model, its
 * fallbacks on other backends and the tests use. Each is registered only when missing.
 */

/** Sums `dy` down to `shape` (undoing broadcasting), then reshapes to it. */
function unbroadcast(dy: Tensor, shape: number[]): Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape);
  const reduced = axes.length > 0 ? tf.sum(dy, axes) : dy;
  return tf.reshape(reduced, shape);
}

function axesOf(attrs: NamedAttrMap, rank: number): number[] {
  const axis = attrs.axis as number | number[] | null;
  const list =
    axis === null || axis === undefined
      ? [...Array(rank).keys()]
      : Array.isArray(axis)
        ? axis
        : [axis];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** dy broadcast back over the reduced axes of a reduction of `x`. */
function expandReduced(dy: Tensor, x: Tensor, attrs: NamedAttrMap): Tensor {
  const shape = x.shape.slice();
  for (const a of axesOf(attrs, x.rank)) shape[a] = 1;
  return tf.broadcastTo(tf.reshape(dy, shape), x.shape);
}

export const coreGradients: GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as Tensor, a!.shape),
      b: () => unbroadcast(dy as Tensor, b!.shape),
    }),
  },
  {
    kernelName: tf.AddN,
    saveAllInputs: true,
    gradFunc: (dy, saved) =>
      Object.fromEntries(saved.map((_, i) => [i, () => (dy as Tensor).clone()])),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as Tensor, a!.shape),
      b: () => tf.neg(unbroadcast(dy as Tensor, b!.shape)),
    }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as Tensor, tf.cast(b!, 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy as Tensor, tf.cast(a!, 'float32')), b!.shape),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy as Tensor, b!), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as Tensor, a!), tf.square(b!))), b!.shape),
    }),
  },
  {
    kernelName: tf.Maximum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () =>
        unbroadcast(tf.mul(dy as Tensor, tf.cast(tf.greaterEqual(a!, b!), 'float32')), a!.shape),
      b: () => unbroadcast(tf.mul(dy as Tensor, tf.cast(tf.less(a!, b!), 'float32')), b!.shape),
    }),
  },
  {
    kernelName: tf.SquaredDifference,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const two = tf.scalar(2);
      return {
        a: () => unbroadcast(tf.mul(dy as Tensor, tf.mul(two, tf.sub(a!, b!))), a!.shape),
        b: () => unbroadcast(tf.mul(dy as Tensor, tf.mul(two, tf.sub(b!, a!))), b!.shape),
      };
    },
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as Tensor) }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.cast(dy as Tensor, 'float32') }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => (dy as Tensor).clone() }) },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as Tensor, tf.mul(x!, 2)) }),
  },
  {
    kernelName: tf.Pow,
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, [a, b, y]) => ({
      a: () => unbroadcast(tf.mul(dy as Tensor, tf.mul(b!, tf.pow(a!, tf.sub(b!, 1)))), a!.shape),
      b: () =>
        unbroadcast(tf.mul(dy as Tensor, tf.mul(y!, tf.log(tf.maximum(a!, 1e-30)))), b!.shape),
    }),
  },
  {
    kernelName: tf.Exp,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as Tensor, y!) }),
  },
  {
    kernelName: tf.Log,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as Tensor, x!) }),
  },
  {
    kernelName: tf.Rsqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as Tensor, tf.mul(tf.pow(x!, 1.5), -2)) }),
  },
  {
    kernelName: tf.Sigmoid,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as Tensor, tf.mul(y!, tf.sub(1, y!))) }),
  },
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as Tensor, tf.sub(1, tf.square(y!))) }),
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = (attrs as { dim: number }).dim;
      return {
        logits: () => tf.mul(tf.sub(dy as Tensor, tf.sum(tf.mul(dy as Tensor, y!), dim, true)), y!),
      };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => expandReduced(dy as Tensor, x!, attrs) }),
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const count = axesOf(attrs, x!.rank).reduce((n, a) => n * x!.shape[a]!, 1);
      return { x: () => tf.div(expandReduced(dy as Tensor, x!, attrs), count) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as Tensor, x!.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as { perm: number[] }).perm;
      return { x: () => tf.transpose(dy as Tensor, tf.backend_util.getUndoAxesPermutation(perm)) };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const [begin, size] = tf.slice_util.parseSliceParams(
        x!,
        attrs.begin as number[],
        attrs.size as number[],
      );
      const paddings = x!.shape.map(
        (d, i) => [begin[i]!, d - begin[i]! - size[i]!] as [number, number],
      );
      return { x: () => tf.pad(dy as Tensor, paddings) };
    },
  },
  {
    kernelName: tf.Unpack,
    gradFunc: (dy, _saved, attrs) => ({
      value: () => tf.stack(dy as Tensor[], (attrs as { axis: number }).axis),
    }),
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const parts = tf.unstack(dy as Tensor, (attrs as { axis: number }).axis);
      return Object.fromEntries(saved.map((_, i) => [i, () => parts[i]!]));
    },
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrs as { axis: number; batchDims: number };
      const ax = axis < 0 ? axis + x!.rank : axis;
      if (ax !== 0 || batchDims !== 0)
        throw new Error('cbtm: gather gradients are implemented for axis 0 only.');
      return {
        x: () => {
          const rows = indices!.size;
          const values = tf.reshape(dy as Tensor, [rows, ...x!.shape.slice(1)]);
          return tf.unsortedSegmentSum(
            values,
            tf.reshape(indices!, [rows]) as tf.Tensor1D,
            x!.shape[0]!,
          );
        },
        indices: () => tf.zerosLike(indices!),
      };
    },
  },
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      const d = dy as Tensor;
      const mm = (x: Tensor, y: Tensor, tx: boolean, ty: boolean) => tf.matMul(x, y, tx, ty);
      // The same four cases as TensorFlow; the wasm kernel turns the flags into transposes.
      if (!transposeA && !transposeB)
        return { a: () => mm(d, b!, false, true), b: () => mm(a!, d, true, false) };
      if (!transposeA && transposeB)
        return { a: () => mm(d, b!, false, false), b: () => mm(d, a!, true, false) };
      if (transposeA && !transposeB)
        return { a: () => mm(b!, d, false, true), b: () => mm(a!, d, false, false) };
      return { a: () => mm(b!, d, true, true), b: () => mm(d, a!, true, true) };
    },
  },
];
