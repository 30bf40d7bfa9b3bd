/**
 * Streams generated pieces while holding back any that might begin a stop string, so the
 * caller never yields text that turns out to be part of one. When a stop string appears,
 * the pieces entirely before it are released and generation should end; the piece that
 * contains the stop string's start is dropped.
 *
 * @example
 * ```ts
 * const buf = new StopSequenceBuffer<string>(['\n\n']);
 * buf.push('Hello', 'Hello'); // { release: ['Hello'], stopped: false }
 * buf.push('\n', '\n');       // { release: [], stopped: false } (might start "\n\n")
 * buf.push('\n', '\n');       // { release: [], stopped: true }
 * ```
 */
export class StopSequenceBuffer<T> {
  readonly #stops: string[];
  readonly #maxLen: number;
  #released = '';
  readonly #pending: { item: T; text: string }[] = [];

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
    this.#maxLen = this.#stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Adds one piece with its text; says what may be released and whether a stop string hit. */
  push(item: T, text: string): { release: T[]; stopped: boolean } {
    this.#pending.push({ item, text });
    if (this.#stops.length === 0) return { release: this.#releaseAll(), stopped: false };
    const pendingText = this.#pending.map((p) => p.text).join('');
    const full = this.#released + pendingText;
    const base = this.#released.length;
    // A match must reach into the pending text, so it starts after base − maxLen.
    const from = Math.max(0, base - this.#maxLen + 1);
    let hit = -1;
    for (const s of this.#stops) {
      const at = full.indexOf(s, from);
      if (at >= 0 && at + s.length > base && (hit < 0 || at < hit)) hit = at;
    }
    if (hit >= 0) {
      const release = this.#releaseBefore(Math.max(hit, base));
      this.#pending.length = 0;
      return { release, stopped: true };
    }
    // Hold back from the earliest position whose suffix could still grow into a stop string.
    let hold = full.length;
    for (let p = Math.max(base, full.length - this.#maxLen + 1); p < full.length; p++) {
      const tail = full.slice(p);
      if (this.#stops.some((s) => s.startsWith(tail))) {
        hold = p;
        break;
      }
    }
    return { release: this.#releaseBefore(hold), stopped: false };
  }

  /** Releases everything still held (generation ended without a stop string). */
  flush(): T[] {
    return this.#releaseAll();
  }

  #releaseAll(): T[] {
    const out = this.#pending.map((p) => p.item);
    this.#released += this.#pending.map((p) => p.text).join('');
    this.#pending.length = 0;
    return out;
  }

  /** Releases the pending pieces that end at or before absolute offset `end`. */
  #releaseBefore(end: number): T[] {
    const out: T[] = [];
    let at = this.#released.length;
    while (this.#pending.length > 0 && at + this.#pending[0]!.text.length <= end) {
      const p = this.#pending.shift()!;
      at += p.text.length;
      this.#released += p.text;
      out.push(p.item);
    }
    return out;
  }
}
