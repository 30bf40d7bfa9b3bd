import { join } from 'node:path';
import { CbtmError, type LongRunOptions } from '@cbtm/core';
import { readEmbedderManifest } from './embedder-files.js';
import { EMBEDDER_MANIFEST } from './embedder-format.js';
import { type SavableEmbedder, TfidfSvdEmbedder } from './tfidf-svd-embedder-files.js';
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
export async function loadEmbedder(
  dir: string,
  run: LongRunOptions = {},
): Promise<SavableEmbedder> {
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
