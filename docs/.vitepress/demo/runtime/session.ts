/**
 * The c-BTM ensemble in the browser: the files `cbtm export-web` writes (tokenizer, embedder,
 * centroids, experts), per-token routing on the complete words of the context, and generation
 * from the mixture Σ_j w_j p_j. It follows `@cbtm/ensemble`'s `Ensemble.generate` step for step;
 * the docs-check tests run both on the same export and compare routes and greedy tokens.
 */

// Type-only: the file formats are defined once, next to the code that writes them.
import type {
  WebDemoManifest,
  WebEmbedderJson,
} from '../../../../packages/pipeline/src/export-web/web-format.js';
import { WebEmbedder, type WebPrefixEmbedding } from './embedder.js';
import { WebGpt, type WebGptModelJson } from './gpt.js';
import { route, type WebRoute } from './router.js';
import { WebTokenizer } from './tokenizer.js';

/** `manifest.json` written by `cbtm export-web` (the type lives with the exporter). */
export type { WebDemoManifest };

/** Reads a file of the export (relative path) as text or bytes. */
export interface AssetReader {
  text(path: string): Promise<string>;
  bytes(path: string): Promise<ArrayBuffer>;
}

/** Fetches the export from `baseUrl` (a folder URL ending in `/`). */
export function fetchReader(baseUrl: string): AssetReader {
  const get = async (path: string) => {
    const res = await fetch(new URL(path, baseUrl));
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  };
  return {
    text: async (p) => (await get(p)).text(),
    bytes: async (p) => (await get(p)).arrayBuffer(),
  };
}

function float32LE(buf: ArrayBuffer): Float32Array {
  const view = new DataView(buf);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i + 1);
}

/** Routing knobs: how many experts to mix, and the temperature T of exp(−d²/T). */
export interface WebRouteOptions {
  readonly topK?: number;
  readonly temperature?: number;
}

/** One generated token with the route it was drawn under. */
export interface WebToken {
  readonly id: number;
  /** The text this token adds (a partial UTF-8 character is held back until complete). */
  readonly text: string;
  readonly route: WebRoute;
}

/** Options of {@link DemoSession.generate}. */
export interface WebGenerateOptions extends WebRouteOptions {
  readonly maxTokens?: number;
  /** Sampling temperature; 0 is greedy. @default 1 */
  readonly samplingTemperature?: number;
  /** Nucleus sampling threshold. @default 1 (off) */
  readonly topP?: number;
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

/** mulberry32: a tiny seeded generator, enough to make the demo's samples repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mixes next-token rows in log space: out[v] = log Σ_j w_j exp(rows[j][v]).
 */
export function mixRows(rows: readonly Float32Array[], weights: readonly number[]): Float64Array {
  const V = rows[0]!.length;
  const out = new Float64Array(V);
  const logW = weights.map((w) => Math.log(w));
  for (let v = 0; v < V; v++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < rows.length; j++) {
      if (weights[j] === 0) continue;
      const x = logW[j]! + rows[j]![v]!;
      if (x > max) max = x;
    }
    if (max === Number.NEGATIVE_INFINITY) {
      out[v] = max;
      continue;
    }
    let s = 0;
    for (let j = 0; j < rows.length; j++)
      if (weights[j] !== 0) s += Math.exp(logW[j]! + rows[j]![v]! - max);
    out[v] = max + Math.log(s);
  }
  return out;
}

/** Draws a token: greedy at temperature 0, else temperature and top-p sampling. */
export function sample(
  logProbs: Float64Array,
  temperature: number,
  topP: number,
  random: () => number,
): number {
  const V = logProbs.length;
  if (temperature === 0) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logProbs[v]! > logProbs[best]!) best = v;
    return best;
  }
  const order: number[] = [];
  for (let v = 0; v < V; v++) if (logProbs[v]! > Number.NEGATIVE_INFINITY) order.push(v);
  order.sort((a, b) => logProbs[b]! - logProbs[a]! || a - b);
  const max = logProbs[order[0]!]! / temperature;
  const p = order.map((v) => Math.exp(logProbs[v]! / temperature - max));
  let total = p.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < p.length) {
      cum += p[keep]!;
      keep++;
      if (cum >= topP * total) break;
    }
    p.length = keep;
    order.length = keep;
    total = cum;
  }
  let u = random() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u < 0) return order[i]!;
  }
  return order[p.length - 1]!;
}

/**
 * The text of complete words of a growing token stream (as `@cbtm/ensemble`'s
 * `CompletedWords`): a word is complete once the next one starts, or once a token ends in
 * whitespace or is special. Routing at a position only ever sees complete words before it.
 */
export class CompletedWords {
  readonly #tok: WebTokenizer;
  readonly #ids: number[] = [];
  #upTo = 0;

  constructor(tok: WebTokenizer) {
    this.#tok = tok;
  }

  append(id: number): string {
    const prev = this.#ids.length > 0 ? this.#ids[this.#ids.length - 1] : undefined;
    this.#ids.push(id);
    const n = this.#ids.length;
    let text = '';
    if (this.#upTo < n - 1 && this.#tok.tokenStartsWord(id, prev)) text += this.#take(n - 1);
    if (this.#tok.isSpecial(id) || /\s$/u.test(this.#tok.decode([id]))) text += this.#take(n);
    return text;
  }

  #take(end: number): string {
    const ids = this.#ids.slice(this.#upTo, end).filter((x) => !this.#tok.isSpecial(x));
    this.#upTo = end;
    return ids.length > 0 ? this.#tok.decode(ids) : '';
  }
}

/** A loaded export: everything the demo page needs. */
export class DemoSession {
  readonly manifest: WebDemoManifest;
  readonly tokenizer: WebTokenizer;
  readonly embedder: WebEmbedder;
  readonly centroids: Float32Array;
  readonly experts: WebGpt[];

  private constructor(
    manifest: WebDemoManifest,
    tokenizer: WebTokenizer,
    embedder: WebEmbedder,
    centroids: Float32Array,
    experts: WebGpt[],
  ) {
    this.manifest = manifest;
    this.tokenizer = tokenizer;
    this.embedder = embedder;
    this.centroids = centroids;
    this.experts = experts;
  }

  /** Loads every file of the export through `reader` (TensorFlow.js must have a backend set). */
  static async load(
    reader: AssetReader,
    onProgress?: (message: string) => void,
  ): Promise<DemoSession> {
    const manifest = JSON.parse(await reader.text('manifest.json')) as WebDemoManifest;
    if (manifest.format !== 'cbtm-web-demo' || manifest.version !== 1) {
      throw new Error('manifest.json is not a cbtm web export (format "cbtm-web-demo", version 1)');
    }
    onProgress?.('tokenizer');
    const tokenizer = new WebTokenizer(JSON.parse(await reader.text(manifest.tokenizer)));
    onProgress?.('embedder');
    const ej = JSON.parse(await reader.text(manifest.embedder)) as WebEmbedderJson;
    const embedder = new WebEmbedder(
      ej,
      float32LE(await reader.bytes(dirOf(manifest.embedder) + ej.rows)),
    );
    const centroids = float32LE(await reader.bytes(manifest.router.centroids));
    const { k, dimension } = manifest.router;
    if (centroids.length !== k * dimension) throw new Error('centroids file has the wrong size');
    if (embedder.dimension !== dimension)
      throw new Error('embedder and centroids disagree on the dimension');
    const experts: WebGpt[] = [];
    for (const e of [...manifest.experts].sort((a, b) => a.index - b.index)) {
      onProgress?.(`expert ${e.index}`);
      const json = JSON.parse(await reader.text(e.model)) as WebGptModelJson;
      const files = new Map<string, ArrayBuffer>();
      for (const group of json.weightsManifest) {
        for (const p of group.paths) files.set(p, await reader.bytes(dirOf(e.model) + p));
      }
      const model = WebGpt.fromArtifacts(json, files);
      if (model.config.vocabSize !== tokenizer.vocabSize)
        throw new Error(`expert ${e.index}: vocabulary size differs from the tokenizer's`);
      experts.push(model);
    }
    if (experts.length !== k)
      throw new Error(`the export has ${experts.length} experts but ${k} centroids`);
    return new DemoSession(manifest, tokenizer, embedder, centroids, experts);
  }

  get k(): number {
    return this.manifest.router.k;
  }

  #topK(options: WebRouteOptions): number {
    const t =
      options.topK ?? (this.manifest.router.topK === 'all' ? this.k : this.manifest.router.topK);
    return Math.max(1, Math.min(this.k, t));
  }

  #route(prefix: WebPrefixEmbedding, options: WebRouteOptions): WebRoute {
    const vec = prefix.empty ? new Float32Array(this.embedder.dimension) : prefix.vector();
    const { k, dimension, temperature } = this.manifest.router;
    return route(
      vec,
      this.centroids,
      k,
      dimension,
      this.#topK(options),
      options.temperature ?? temperature,
    );
  }

  /** The route for the next token after `text` (its complete words only). */
  routeText(text: string, options: WebRouteOptions = {}): WebRoute {
    const words = new CompletedWords(this.tokenizer);
    const prefix = this.embedder.prefix();
    for (const id of this.tokenizer.encode(text)) prefix.push(words.append(id));
    return this.#route(prefix, options);
  }

  /**
   * Generates a continuation of `prompt` token by token: the context starts with the
   * end-of-document token, the route is recomputed whenever a word completes, only the routed
   * experts run, and generation stops at the end-of-document token.
   */
  async *generate(prompt: string, options: WebGenerateOptions = {}): AsyncGenerator<WebToken> {
    const tok = this.tokenizer;
    const random = seededRandom(options.seed ?? 0);
    const context: number[] = [tok.eosId];
    const words = new CompletedWords(tok);
    const prefix = this.embedder.prefix();
    let dirty = true;
    const push = (chunk: string) => {
      if (chunk.length === 0) return;
      prefix.push(chunk);
      dirty = true;
    };
    for (const id of tok.encode(prompt)) {
      context.push(id);
      push(words.append(id));
    }
    const generated: number[] = [];
    let emitted = '';
    let current: WebRoute | undefined;
    const maxTokens = options.maxTokens ?? 64;
    for (let step = 0; step < maxTokens; step++) {
      if (options.signal?.aborted) return;
      if (!current || dirty) {
        current = this.#route(prefix, options);
        dirty = false;
      }
      const rows: Float32Array[] = [];
      for (const j of current.experts) rows.push(await this.experts[j]!.nextLogProbs(context));
      const id = sample(
        mixRows(rows, current.weights),
        options.samplingTemperature ?? 1,
        options.topP ?? 1,
        random,
      );
      if (id === tok.eosId) return;
      context.push(id);
      generated.push(id);
      push(words.append(id));
      let text = tok.decode(generated);
      if (text.endsWith('\uFFFD')) text = text.replace(/\uFFFD+$/u, '');
      const piece = text.length >= emitted.length ? text.slice(emitted.length) : '';
      if (text.length >= emitted.length) emitted = text;
      yield { id, text: piece, route: current };
    }
  }

  dispose(): void {
    for (const e of this.experts) e.dispose();
  }
}
