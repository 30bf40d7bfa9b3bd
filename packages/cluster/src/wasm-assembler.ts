/**
 * Just enough of a WebAssembly binary encoder to emit the SIMD distance kernel at run time, so
 * the package ships readable source instead of an opaque `.wasm` blob and needs no build tool.
 * Opcodes follow the WebAssembly core and fixed-width SIMD specifications.
 */

/** Value types. */
export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const simd = (op: number) => [0xfd, ...uleb(op)];
const memarg = (alignLog2: number, offset: number) => [...uleb(alignLog2), ...uleb(offset)];

/** Instruction encoders (only those the kernel uses). */
export const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  i32Ne: () => [0x47],
  i32LtU: () => [0x49],
  f32Load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  v128Load: (offset = 0) => [...simd(0x00), ...memarg(4, offset)],
  v128Store: (offset = 0) => [...simd(0x0b), ...memarg(4, offset)],
  v128Zero: () => [...simd(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Splat: () => simd(0x13),
  f32x4Add: () => simd(0xe4),
  f32x4Sub: () => simd(0xe5),
  f32x4Mul: () => simd(0xe6),
  f32x4Max: () => simd(0xe9),
} as const;

/** One exported function: its i32 parameters, extra locals and body (without the final `end`). */
export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  readonly locals: readonly number[];
  readonly body: readonly number[];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * Encodes a module that imports its memory as `env.memory` (so several specialized modules can
 * share one) and exports the given functions, none of which return a value.
 */
export function assembleModule(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0x00]);
  const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]];
  const funcIndices = functions.map((_, i) => uleb(i));
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const bodies = functions.map((f) => {
    // Run-length encode the locals: consecutive equal types share one entry.
    const groups: number[][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0] = (last[0] ?? 0) + 1;
      else groups.push([1, t]);
    }
    const localDecl = vec(groups.map(([count, t]) => [...uleb(count ?? 0), t ?? I32]));
    const code = [...localDecl, ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcIndices)),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}
