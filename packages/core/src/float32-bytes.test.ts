import { describe, expect, it } from 'vitest';
import { decodeFloat32LE, encodeFloat32LE } from './float32-bytes.js';

describe('little-endian float32 bytes', () => {
  it('encodes hand-computed IEEE 754 values, least significant byte first', () => {
    // 1 = 0x3f800000, -2 = 0xc0000000, 0.5 = 0x3f000000.
    expect([...encodeFloat32LE([1, -2, 0.5])]).toEqual([
      0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f,
    ]);
    expect(encodeFloat32LE([])).toEqual(new Uint8Array(0));
  });

  it('agrees with DataView, round-trips, and reads from an unaligned offset', () => {
    const values = Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 10 ** (i % 7));
    const bytes = encodeFloat32LE(values);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) expect(view.getFloat32(i * 4, true)).toBe(values[i]);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes, 1);
    expect(decodeFloat32LE(padded.subarray(1))).toEqual(values);
  });

  it('rounds float64 input to float32 and refuses a partial value', () => {
    expect(decodeFloat32LE(encodeFloat32LE([0.1]))[0]).toBe(Math.fround(0.1));
    expect(() => decodeFloat32LE(new Uint8Array(6))).toThrow('multiple of 4 bytes, got 6');
  });
});
