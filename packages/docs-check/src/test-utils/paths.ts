import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
/** The docs source folder. */
export const DOCS = join(ROOT, 'docs');
/** Where `vitepress build docs` (`npm run docs:build`) writes the site; the tests build it there. */
export const SITE = join(ROOT, 'docs', '.vitepress', 'dist');
/** Screenshots and other files the tests leave for humans. */
export const ARTIFACTS = join(ROOT, 'packages', 'docs-check', 'test-artifacts');
/** The examples, as users copy them. */
export const EXAMPLES = join(ROOT, 'examples');
/** The examples compiled by this package's `build` (tsc -b). */
export const EXAMPLES_DIST = join(ROOT, 'packages', 'docs-check', 'dist', 'examples');
/** The cbtm CLI. */
export const CLI = join(ROOT, 'packages', 'pipeline', 'dist', 'bin.js');

/** The published packages the site documents, in dependency order (`docs/.vitepress/packages.json`). */
export const SITE_PACKAGES: readonly string[] = JSON.parse(
  readFileSync(join(ROOT, 'docs', '.vitepress', 'packages.json'), 'utf8'),
);
