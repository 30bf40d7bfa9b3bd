import { join } from 'node:path';
import { CbtmError, type LongRunOptions } from '@cbtm/core';
import type { Embedder } from './embedder.js';
import { EMBEDDER_MANIFEST, readEmbedderManifest } from './embedder-files.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder.js';
import { TransformersEmbedder } from './transformers-embedder.js';

/**
 * Loads any saved embedder, dispatching on the `kind` in `<dir>/embedder.json`.
 *
 * @example
 * ```ts
 * const embedder = await loadEmbedder('runs/demo/embedder');
 * const v = await embedder.embedText('hello');
 * ```
 */
export async function loadEmbedder(dir: string, run: LongRunOptions = {}): Promise<Embedder> {
  const { kind } = await readEmbedderManifest(dir);
  switch (kind) {
    case 'tfidf-svd':
      return TfidfSvdEmbedder.load(dir);
    case 'transformers':
      return TransformersEmbedder.load(dir, run);
    default:
      throw new CbtmError(
        'E_FORMAT',
        `${join(dir, EMBEDDER_MANIFEST)} holds an embedder of unknown kind "${kind}"; this @cbtm/embed knows "tfidf-svd" and "transformers". Upgrade @cbtm/embed.`,
      );
  }
}
