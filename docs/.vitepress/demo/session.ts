/**
 * The c-BTM ensemble in the browser, built from the cbtm packages' pure entries: the files
 * `cbtm export-web` writes (tokenizer, embedder, centroids, experts) become a `BpeTokenizer`, a
 * `TfidfSvdEmbedder` (from its term rows), an `ExactRouter` and `GptModel`s, and
 * `@cbtm/ensemble`'s `Ensemble` routes and generates, exactly as in Node.js.
 */
import { type FileSystem, registerFileSystem } from '@cbtm/core';
import {
  fromTermRows,
  type PrefixEmbedding,
  type TermRowsJson,
  type TfidfSvdEmbedder,
} from '@cbtm/embed';
import { CompletedWords, Ensemble, ExpertPool } from '@cbtm/ensemble';
import { ExactRouter } from '@cbtm/route';
import { BpeTokenizer, GptModel } from '@cbtm/train';
// Type-only: the manifest's format is defined once, next to the exporter that writes it.
import type { WebDemoManifest } from '../../../packages/pipeline/src/export-web/web-format.js';

/** `manifest.json` written by `cbtm export-web` (the type lives with the exporter). */
export type { WebDemoManifest };

/** Reads the export over HTTP from `baseUrl` (a folder URL ending in `/`). */
export function fetchFileSystem(baseUrl: string): FileSystem {
  const get = async (path: string) => {
    const res = await fetch(new URL(path, baseUrl));
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  };
  const readOnly = async () => {
    throw new Error('The demo reads its files over HTTP; it cannot write.');
  };
  return {
    join: (...parts) => parts.filter((p) => p.length > 0).join('/'),
    readBytes: async (p) => new Uint8Array(await (await get(p)).arrayBuffer()),
    readJson: async <T>(p: string) => (await (await get(p)).json()) as T,
    writeAtomic: readOnly,
    writeJsonAtomic: readOnly,
  };
}

function float32LE(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Routing knobs: how many experts to mix, and the temperature T of exp(−d²/T). */
export interface WebRouteOptions {
  readonly topK?: number;
  readonly temperature?: number;
}

/** Which experts run for one context, and how much each counts. */
export interface WebRoute {
  /** Expert indices, nearest first. */
  readonly experts: readonly number[];
  /** Weights aligned with `experts`; they sum to 1. */
  readonly weights: readonly number[];
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

/** A loaded export: everything the demo page needs. */
export class DemoSession {
  readonly manifest: WebDemoManifest;
  readonly tokenizer: BpeTokenizer;
  readonly embedder: TfidfSvdEmbedder;
  readonly router: ExactRouter;
  readonly ensemble: Ensemble;

  private constructor(
    manifest: WebDemoManifest,
    tokenizer: BpeTokenizer,
    embedder: TfidfSvdEmbedder,
    router: ExactRouter,
    ensemble: Ensemble,
  ) {
    this.manifest = manifest;
    this.tokenizer = tokenizer;
    this.embedder = embedder;
    this.router = router;
    this.ensemble = ensemble;
  }

  /**
   * Loads every file of the export from `baseUrl` (a TensorFlow.js backend must be selected,
   * e.g. with `@cbtm/train`'s `selectBackend`).
   */
  static async load(baseUrl: string, onProgress?: (message: string) => void): Promise<DemoSession> {
    const fs = fetchFileSystem(baseUrl);
    // GptModel.load and BpeTokenizer.load read through the registered file system; put back
    // whatever was registered before (Node.js's, in the tests) once the files are in.
    const previous = registerFileSystem(fs);
    try {
      const manifest = await fs.readJson<WebDemoManifest>('manifest.json');
      if (manifest.format !== 'cbtm-web-demo' || manifest.version !== 1) {
        throw new Error(
          'manifest.json is not a cbtm web export (format "cbtm-web-demo", version 1)',
        );
      }
      onProgress?.('tokenizer');
      const tokenizer = await BpeTokenizer.load(manifest.tokenizer);
      onProgress?.('embedder');
      const ej = await fs.readJson<TermRowsJson>(manifest.embedder);
      const embedder = fromTermRows(
        ej,
        float32LE(await fs.readBytes(fs.join(dirOf(manifest.embedder), ej.rows))),
      );
      const { k, dimension } = manifest.router;
      const centroids = float32LE(await fs.readBytes(manifest.router.centroids));
      if (centroids.length !== k * dimension) throw new Error('centroids file has the wrong size');
      if (embedder.dimension !== dimension)
        throw new Error('embedder and centroids disagree on the dimension');
      const router = new ExactRouter(centroids, k, dimension);
      const byIndex = [...manifest.experts].sort((a, b) => a.index - b.index);
      if (byIndex.length !== k)
        throw new Error(`the export has ${byIndex.length} experts but ${k} centroids`);
      const experts: GptModel[] = [];
      for (const e of byIndex) {
        onProgress?.(`expert ${e.index}`);
        const model = await GptModel.load(dirOf(e.model));
        if (model.config.vocabSize !== tokenizer.vocabSize)
          throw new Error(`expert ${e.index}: vocabulary size differs from the tokenizer's`);
        experts.push(model);
      }
      const pool = new ExpertPool(k, async (j) => experts[j]!, { maxLoaded: k });
      const ensemble = new Ensemble({ tokenizer, embedder, experts: pool, router });
      return new DemoSession(manifest, tokenizer, embedder, router, ensemble);
    } finally {
      registerFileSystem(previous);
    }
  }

  get k(): number {
    return this.manifest.router.k;
  }

  #routeOptions(options: WebRouteOptions): { topK: number; temperature: number } {
    const t =
      options.topK ?? (this.manifest.router.topK === 'all' ? this.k : this.manifest.router.topK);
    return {
      topK: Math.max(1, Math.min(this.k, t)),
      temperature: options.temperature ?? this.manifest.router.temperature,
    };
  }

  /** The route for the next token after `text` (its complete words only). */
  routeText(text: string, options: WebRouteOptions = {}): WebRoute {
    const words = new CompletedWords(this.tokenizer);
    const prefix: PrefixEmbedding = this.embedder.prefix();
    for (const id of this.tokenizer.encode(text)) prefix.push(words.append(id));
    const { experts, weights } = this.router.route(prefix.vector(), this.#routeOptions(options));
    return { experts, weights: Array.from(weights) };
  }

  /**
   * Generates a continuation of `prompt` token by token with `Ensemble.generate`: the route is
   * recomputed whenever a word completes, only the routed experts run, and generation stops at
   * the end-of-document token.
   */
  async *generate(prompt: string, options: WebGenerateOptions = {}): AsyncGenerator<WebToken> {
    try {
      for await (const t of this.ensemble.generate(prompt, {
        routing: this.#routeOptions(options),
        maxTokens: options.maxTokens ?? 64,
        temperature: options.samplingTemperature ?? 1,
        topP: options.topP ?? 1,
        seed: options.seed ?? 0,
        ...(options.signal ? { signal: options.signal } : {}),
      })) {
        yield { id: t.id, text: t.token, route: { experts: t.experts, weights: t.weights } };
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
  }

  dispose(): void {
    void this.ensemble.dispose();
  }
}
