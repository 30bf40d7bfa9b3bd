import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CbtmError, writeFileAtomic } from '@cbtm/core/node';

/**
 * File name of the training checkpoint inside a model directory.
 *
 * @example
 * ```ts
 * const resumable = existsSync(join(dir, CHECKPOINT_FILE));
 * ```
 */
export const CHECKPOINT_FILE = 'checkpoint.bin';

const MAGIC = 'CBTMCKP1';

/** One typed array stored in a checkpoint. */
export interface CheckpointSection {
  readonly name: string;
  readonly data: Float32Array | Int32Array;
}

/**
 * A checkpoint: a JSON header (step, config, data position, RNG states, history) and named
 * float32/int32 arrays (weights, optimizer moments, the shuffle buffer), in one file so it is
 * replaced atomically as a whole.
 */
export interface Checkpoint<H> {
  readonly header: H;
  readonly sections: Map<string, Float32Array | Int32Array>;
}

/**
 * Writes a checkpoint atomically (temp file, fsync, rename). Layout: 8-byte magic, uint32
 * header length, JSON header padded to 4 bytes, then each section's bytes in header order.
 *
 * @example
 * ```ts
 * await writeCheckpoint('runs/a/experts/0', { step: 10 }, [{ name: 'w:wte', data: wte }]);
 * ```
 */
export async function writeCheckpoint<H>(
  dir: string,
  header: H,
  sections: readonly CheckpointSection[],
): Promise<void> {
  const layout = sections.map((s) => ({
    name: s.name,
    dtype: s.data instanceof Float32Array ? 'float32' : 'int32',
    length: s.data.length,
  }));
  let json = JSON.stringify({ header, layout });
  const enc = new TextEncoder();
  while ((8 + 4 + enc.encode(json).length) % 4 !== 0) json += ' ';
  const head = enc.encode(json);
  const total = 12 + head.length + sections.reduce((n, s) => n + s.data.length * 4, 0);
  const bytes = new Uint8Array(total);
  bytes.set(enc.encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, head.length, true);
  bytes.set(head, 12);
  let offset = 12 + head.length;
  for (const s of sections) {
    bytes.set(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.length * 4), offset);
    offset += s.data.length * 4;
  }
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), bytes);
}

/** True when `dir` holds a checkpoint. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return access(join(dir, CHECKPOINT_FILE)).then(
    () => true,
    () => false,
  );
}

/**
 * Reads a checkpoint written by {@link writeCheckpoint}.
 *
 * @example
 * ```ts
 * const { header, sections } = await readCheckpoint<{ step: number }>('runs/a/experts/0');
 * ```
 */
export async function readCheckpoint<H>(dir: string): Promise<Checkpoint<H>> {
  const file = join(dir, CHECKPOINT_FILE);
  const buf = await readFile(file).catch((err: unknown) => {
    throw new CbtmError('E_FORMAT', `Cannot read checkpoint ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const dec = new TextDecoder();
  if (bytes.byteLength < 12 || dec.decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} is not a cbtm checkpoint. Delete it to start training afresh.`,
    );
  }
  const headLen = new DataView(bytes.buffer).getUint32(8, true);
  let parsed: { header: H; layout: { name: string; dtype: 'float32' | 'int32'; length: number }[] };
  try {
    parsed = JSON.parse(dec.decode(bytes.subarray(12, 12 + headLen)));
  } catch (err) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} has a corrupt header. Delete it to start training afresh.`,
      { cause: err },
    );
  }
  const sections = new Map<string, Float32Array | Int32Array>();
  let offset = 12 + headLen;
  for (const s of parsed.layout) {
    const end = offset + s.length * 4;
    if (end > bytes.byteLength)
      throw new CbtmError('E_FORMAT', `${file} is truncated. Delete it to start training afresh.`);
    const slice = bytes.buffer.slice(offset, end);
    sections.set(s.name, s.dtype === 'float32' ? new Float32Array(slice) : new Int32Array(slice));
    offset = end;
  }
  return { header: parsed.header, sections };
}
