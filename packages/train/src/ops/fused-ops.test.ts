import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { BackendName } from '../backend/select-backend.js';
import { maxRelDiff, onBackend, seeded, values } from '../test-utils/backends.js';
import { causalSoftmax, causalSoftmaxComposite } from './causal-softmax.js';
import { gelu, geluComposite } from './gelu.js';
import { layerNorm, layerNormComposite } from './layer-norm.js';
import { softmaxCrossEntropy, softmaxCrossEntropyComposite } from './softmax-cross-entropy.js';
import { tiedOutputLoss, tiedOutputLossComposite } from './tied-output-loss.js';

const t = (shape: number[], seed: number, scale = 1) =>
  tf.mul(
    tf.tensor(
      seeded(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
      shape,
    ),
    scale,
  );

/** Value and gradients of sum(f(...) · w) for a fixed random w, as plain arrays. */
function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  outShape: number[],
) {
  const w = t(outShape, 99);
  const value = values(f(...inputs));
  const grads = tf
    .grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs)
    .map(values);
  return { value, grads };
}

const backends: BackendName[] = ['wasm', 'cpu'];

describe.each(backends)('fused ops on %s match standard ops', (backend) => {
  it('layerNorm: values and gradients for x, gamma, beta', async () => {
    const r = await onBackend(backend, () => {
      const inputs = () => [t([6, 8], 1, 3), tf.add(t([8], 2), 1), t([8], 3)];
      return {
        fused: valueAndGrads((x, g, b) => layerNorm(x!, g!, b!), inputs(), [6, 8]),
        ref: valueAndGrads((x, g, b) => layerNormComposite(x!, g!, b!), inputs(), [6, 8]),
      };
    });
    expect(maxRelDiff(r.fused.value, r.ref.value)).toBeLessThan(1e-5);
    for (const [i, g] of r.fused.grads.entries())
      expect(maxRelDiff(g, r.ref.grads[i]!)).toBeLessThan(1e-4);
  });

  it('gelu: values and gradient', async () => {
    const r = await onBackend(backend, () => ({
      fused: valueAndGrads((x) => gelu(x!), [t([5, 7], 4, 4)], [5, 7]),
      ref: valueAndGrads((x) => geluComposite(x!), [t([5, 7], 4, 4)], [5, 7]),
    }));
    expect(maxRelDiff(r.fused.value, r.ref.value)).toBeLessThan(1e-5);
    expect(maxRelDiff(r.fused.grads[0]!, r.ref.grads[0]!)).toBeLessThan(1e-4);
  });

  it('gelu: known values of the tanh approximation', async () => {
    const v = await onBackend(backend, () => values(gelu(tf.tensor1d([-1, 0, 1, 3]))));
    const exact = [-1, 0, 1, 3].map(
      (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    );
    expect(maxRelDiff(v, exact)).toBeLessThan(1e-6);
  });

  it('causalSoftmax: values (zeros above the diagonal) and gradient', async () => {
    const r = await onBackend(backend, () => ({
      fused: valueAndGrads((x) => causalSoftmax(x!, 0.5), [t([3, 5, 5], 5, 4)], [3, 5, 5]),
      ref: valueAndGrads((x) => causalSoftmaxComposite(x!, 0.5), [t([3, 5, 5], 5, 4)], [3, 5, 5]),
    }));
    expect(maxRelDiff(r.fused.value, r.ref.value)).toBeLessThan(1e-5);
    expect(r.fused.value[1]).toBe(0);
    expect(maxRelDiff(r.fused.grads[0]!, r.ref.grads[0]!)).toBeLessThan(1e-4);
  });

  it('softmaxCrossEntropy: loss and gradient, ignoring negative targets', async () => {
    const targets = [3, -1, 0, 6, 2];
    const r = await onBackend(backend, () => {
      const y = () => tf.tensor1d(targets, 'int32');
      const run = (f: typeof softmaxCrossEntropy) => {
        const x = t([5, 7], 6, 3) as tf.Tensor2D;
        const loss = values(f(x, y()))[0]!;
        const grad = values(tf.grad((z: tf.Tensor) => tf.mul(f(z as tf.Tensor2D, y()), 2))(x));
        return { loss, grad };
      };
      return { fused: run(softmaxCrossEntropy), ref: run(softmaxCrossEntropyComposite) };
    });
    expect(r.fused.loss).toBeCloseTo(r.ref.loss, 5);
    expect(maxRelDiff(r.fused.grad, r.ref.grad)).toBeLessThan(1e-5);
    expect(r.fused.grad.slice(7, 14).every((g) => g === 0)).toBe(true);
  });

  it('softmaxCrossEntropy of uniform logits is ln V', async () => {
    const loss = await onBackend(backend, () =>
      values(softmaxCrossEntropy(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([1, 3], 'int32'))),
    );
    expect(loss[0]).toBeCloseTo(Math.log(4), 6);
  });

  it('softmaxCrossEntropy stays finite when p(target) underflows', async () => {
    const loss = await onBackend(backend, () =>
      values(softmaxCrossEntropy(tf.tensor2d([[200, 0, -200]]), tf.tensor1d([2], 'int32'))),
    );
    expect(loss[0]).toBeCloseTo(400, 3);
  });
});

describe('tiedOutputLoss on wasm (row chunks, both gradients) matches standard ops', () => {
  it.each([4, 3, 64])('with %i-row chunks', async (chunk) => {
    const targets = [3, -1, 0, 6, 2, 5, 5, 1, -1, 4];
    const r = await onBackend('wasm', () => {
      const run = (f: (h: tf.Tensor2D, w: tf.Tensor2D, y: tf.Tensor1D) => tf.Scalar) => {
        const h = t([10, 5], 21, 2) as tf.Tensor2D;
        const w = t([7, 5], 22, 2) as tf.Tensor2D;
        const y = tf.tensor1d(targets, 'int32');
        const loss = values(f(h, w, y))[0]!;
        const grads = tf
          .grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D, y), 3),
          )([h, w])
          .map(values);
        return { loss, grads };
      };
      return {
        fused: run((h, w, y) => tiedOutputLoss(h, w, y, chunk)),
        ref: run(tiedOutputLossComposite),
      };
    });
    expect(r.fused.loss).toBeCloseTo(r.ref.loss, 5);
    for (const [i, g] of r.fused.grads.entries())
      expect(maxRelDiff(g, r.ref.grads[i]!)).toBeLessThan(1e-5);
  });
});
