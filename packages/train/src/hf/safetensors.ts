import { CbtmError } from '@cbtm/core';

/**
 * One tensor of a safetensors file, widened to float32 (F16 and BF16 files are read too).
 *
 * @example
 * ```ts
 * const t: SafetensorsTensor = { shape: [2, 3], data: new Float32Array(6) };
 * ```
 */
export interface SafetensorsTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Element types this reader understands, with their size in bytes. */
const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
type ReadableDtype = keyof typeof DTYPE_BYTES;

/** Header entries are untrusted input: shapes bigger than this are refused outright. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Encodes float32 tensors as a safetensors file: an 8-byte little-endian header length, a JSON
 * header (`dtype`, `shape`, `data_offsets` per tensor, plus string `__metadata__`) padded with
 * spaces to a multiple of 8 bytes, then the raw little-endian data in the given order.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors(new Map([['wte', { shape: [2, 2], data: new Float32Array(4) }]]), { format: 'pt' });
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) {
      throw new CbtmError(
        'E_FORMAT',
        `safetensors: tensor ${name} has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${size}.`,
      );
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + size * 4] };
    offset += size * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i]!, true);
    at += t.data.length * 4;
  }
  return out;
}

/**
 * Decodes a safetensors file into float32 tensors by name (F32, F16 and BF16 are accepted).
 * `source` (the file's path) is named in every error: a truncated file, a bad header, an
 * unsupported dtype, or offsets that disagree with the shape.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(await readFile('model.safetensors'), 'model.safetensors');
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source: string,
): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const fail = (what: string): never => {
    throw new CbtmError('E_FORMAT', `${source} is not a valid safetensors file: ${what}.`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(`the header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (cause) {
    throw new CbtmError('E_FORMAT', `${source}: the safetensors header is not valid JSON.`, {
      cause,
    });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      fail(
        `tensor ${name} has dtype ${String(e.dtype)}; only ${Object.keys(DTYPE_BYTES).join(', ')} are supported`,
      );
    }
    const dtype = e.dtype as ReadableDtype;
    const shape = e.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
    ) {
      fail(`tensor ${name} has no valid shape`);
    }
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o))
    ) {
      fail(`tensor ${name} has no valid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end < begin || end > dataLength) {
      fail(
        `tensor ${name}'s data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`,
      );
    }
    if (end - begin !== size * DTYPE_BYTES[dtype]) {
      fail(
        `tensor ${name} has ${end - begin} data bytes but ${dtype} shape [${(shape as number[]).join(', ')}] needs ${size * DTYPE_BYTES[dtype]}`,
      );
    }
    tensors.set(name, {
      shape: shape as number[],
      data: widen(view, dataStart + begin, size, dtype),
    });
  }
  return { tensors, metadata };
}

function widen(view: DataView, at: number, size: number, dtype: ReadableDtype): Float32Array {
  const out = new Float32Array(size);
  if (dtype === 'F32') {
    for (let i = 0; i < size; i++) out[i] = view.getFloat32(at + 4 * i, true);
  } else if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < size; i++) {
      word.setUint32(0, view.getUint16(at + 2 * i, true) << 16);
      out[i] = word.getFloat32(0);
    }
  } else {
    for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(at + 2 * i, true));
  }
  return out;
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
