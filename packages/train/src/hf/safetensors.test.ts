import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/** A safetensors file built by hand from its specification, independent of the encoder. */
function handBuilt(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('decodeSafetensors', () => {
  it('reads F32, F16 and BF16 tensors of a hand-built file', () => {
    // F32 1.5 = 0x3fc00000 and -2 = 0xc0000000; F16 1 = 0x3c00, -0.5 = 0xb800, 65504 = 0x7bff;
    // BF16 3 = 0x4040. All little-endian.
    const bytes = handBuilt(
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F16', shape: [1, 3], data_offsets: [8, 14] },
        c: { dtype: 'BF16', shape: [], data_offsets: [14, 16] },
      },
      [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b, 0x40, 0x40],
    );
    const { tensors, metadata } = decodeSafetensors(bytes, 'hand.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('a')).toEqual({ shape: [2], data: Float32Array.of(1.5, -2) });
    expect(tensors.get('b')).toEqual({ shape: [1, 3], data: Float32Array.of(1, -0.5, 65504) });
    expect(tensors.get('c')).toEqual({ shape: [], data: Float32Array.of(3) });
  });

  it('names the file and the problem in every error', () => {
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    expect(() => decodeSafetensors(new Uint8Array(4), 'x.safetensors')).toThrow(
      'x.safetensors is not a valid safetensors file: it has 4 bytes',
    );
    expect(() => decodeSafetensors(handBuilt(ok, [0, 0, 0, 0]), 'x.safetensors')).toThrow(
      "tensor a's data_offsets [0, 8] lie outside the 4 data bytes",
    );
    expect(() =>
      decodeSafetensors(
        handBuilt({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Array(8).fill(0)),
        'x.safetensors',
      ),
    ).toThrow('tensor a has dtype I64; only F32, F16, BF16 are supported');
    expect(() =>
      decodeSafetensors(
        handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Array(8).fill(0)),
        'x.safetensors',
      ),
    ).toThrow('tensor a has 8 data bytes but F32 shape [3] needs 12');
    const truncated = handBuilt(ok, Array(8).fill(0)).subarray(0, 12);
    expect(() => decodeSafetensors(truncated, 'x.safetensors')).toThrow(
      /x\.safetensors is not a valid safetensors file: the header length \d+ runs past the end/,
    );
  });
});

describe('encodeSafetensors', () => {
  it('writes the layout of the specification: length, padded header, data in order', () => {
    const bytes = encodeSafetensors(
      new Map([
        ['w', { shape: [1, 2], data: Float32Array.of(1.5, -2) }],
        ['b', { shape: [1], data: Float32Array.of(0.25) }],
      ]),
      { format: 'pt' },
    );
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))).toEqual({
      __metadata__: { format: 'pt' },
      w: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    });
    expect([...bytes.subarray(8 + n)]).toEqual([0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0x80, 0x3e]);
    const back = decodeSafetensors(bytes, 'mem').tensors;
    expect(back.get('w')!.data).toEqual(Float32Array.of(1.5, -2));
    expect(back.get('b')!.data).toEqual(Float32Array.of(0.25));
  });

  it('refuses data that does not fill its shape', () => {
    expect(() =>
      encodeSafetensors(new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]])),
    ).toThrow('tensor w has 3 values but shape [2, 2] needs 4');
  });
});
