// Formats generated markdown with the repository's Biome config, so generated pages pass
// `npm run lint` and `--check` compares like with like.
import { execFileSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `text` as `biome format` writes the markdown file at `path`. */
export function formatMarkdown(text, path) {
  const biome = join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  return execFileSync(
    process.execPath,
    [biome, 'format', `--stdin-file-path=${relative(ROOT, path)}`],
    {
      cwd: ROOT,
      input: text,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}
