// Little-endian float32 byte encoding, the format of every `.f32` file cbtm writes (centroids,
// embedder term rows, web exports). The one implementation, for both Node and browsers.

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Values as little-endian float32 bytes (a fresh buffer; values are rounded to float32).
 *
 * @example
 * ```ts
 * encodeFloat32LE([1]); // Uint8Array [0, 0, 128, 63]
 * ```
 */
export function encodeFloat32LE(values: ArrayLike<number>): Uint8Array {
  if (littleEndianHost) return new Uint8Array(Float32Array.from(values).buffer);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/**
 * Little-endian float32 bytes as values (a copy, so the result owns its aligned buffer).
 * Throws when the byte count is not a multiple of 4.
 *
 * @example
 * ```ts
 * decodeFloat32LE(new Uint8Array([0, 0, 128, 63])); // Float32Array [1]
 * ```
 */
export function decodeFloat32LE(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`float32 data must be a multiple of 4 bytes, got ${bytes.byteLength}.`);
  }
  const count = bytes.byteLength / 4;
  if (littleEndianHost) {
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
