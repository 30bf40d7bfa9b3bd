import { randomBytes } from 'node:crypto';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  CbtmError,
  encodeFloat32LE,
  InvalidArgumentError,
  type LongRunOptions,
  pathExists,
  progressReporter,
  RunDir,
  RunDirError,
  RunLayout,
  readCorpus,
  throwIfAborted,
} from '@cbtm/core/node';
import { loadEmbedder, TfidfSvdEmbedder, toTermRows } from '@cbtm/embed/node';
import { readExpertSet } from '@cbtm/ensemble/node';
import { loadRouter } from '@cbtm/route/node';
import { MODEL_JSON } from '@cbtm/train';
import {
  type ExportedFile,
  WEB_DEMO_FORMAT,
  WEB_DEMO_VERSION,
  type WebDemoManifest,
  type WebEmbedderJson,
} from './web-format.js';

/**
 * Options of {@link exportWeb}.
 *
 * @example
 * ```ts
 * const options: ExportWebOptions = { experts: [0, 2], prompts: ['In the beginning'] };
 * ```
 */
export interface ExportWebOptions extends LongRunOptions {
  /**
   * The experts to export (the browser routes among these only). `undefined` exports all.
   * @default undefined
   */
  readonly experts?: readonly number[];
  /**
   * Prompts the demo page offers; the first is typed in when the page opens.
   * @default ['In the beginning God created']
   */
  readonly prompts?: readonly string[];
  /**
   * Routing temperature T the page starts with.
   * @default 0.1
   */
  readonly temperature?: number;
  /**
   * Experts mixed per token when the page opens.
   * @default 'all'
   */
  readonly topK?: number | 'all';
  /**
   * Refuse to write an export larger than this many bytes (the page downloads all of it).
   * @default 50_000_000
   */
  readonly maxBytes?: number;
}

/**
 * Defaults of {@link ExportWebOptions}.
 *
 * @example
 * ```ts
 * await exportWeb('runs/demo', 'docs/public/demo', { ...defaultExportWebOptions, topK: 2 });
 * ```
 */
export const defaultExportWebOptions = Object.freeze({
  prompts: Object.freeze(['In the beginning God created']) as readonly string[],
  temperature: 0.1,
  topK: 'all' as number | 'all',
  maxBytes: 50_000_000,
});

/**
 * What {@link exportWeb} wrote.
 *
 * @example
 * ```ts
 * const { totalBytes, files } = await exportWeb('runs/demo', 'docs/public/demo');
 * ```
 */
export interface ExportWebResult {
  /** Absolute path of the export folder. */
  readonly outDir: string;
  /** The manifest written as `manifest.json`. */
  readonly manifest: WebDemoManifest;
  /** Every file, relative to `outDir`, with its size. */
  readonly files: readonly ExportedFile[];
  readonly totalBytes: number;
}

/**
 * The file that marks a folder as a cbtm web export. `exportWeb` replaces only a folder that
 * holds it (or is empty), so a mistyped `--out` never deletes a user's files.
 *
 * @example
 * ```ts
 * existsSync(join('docs/public/demo', WEB_EXPORT_MARKER)); // true after an export
 * ```
 */
export const WEB_EXPORT_MARKER = '.cbtm-web-export';

/** What an export's top level holds; an export made before the marker holds only these. */
const EXPORT_ENTRIES = new Set([
  'centroids.f32',
  'embedder.f32',
  'embedder.json',
  'experts',
  'manifest.json',
  'tokenizer.json',
]);

/** The real path of `path`, or of its nearest existing parent joined with the rest. */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPathOf(parent), basename(path));
  }
}

/** An export made before the marker: only export files, with a cbtm-web-demo manifest. */
async function isUnmarkedExport(dir: string, entries: readonly string[]): Promise<boolean> {
  if (!entries.includes('manifest.json') || entries.some((e) => !EXPORT_ENTRIES.has(e)))
    return false;
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      format?: unknown;
    };
    return manifest.format === WEB_DEMO_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Refuses an output folder that `exportWeb` must not replace: the run directory, any folder
 * that contains it, a file, or a folder with anything but an earlier export in it.
 */
async function checkOutDir(out: string, runDir: string): Promise<void> {
  const [realOut, realRun] = await Promise.all([realPathOf(out), realPathOf(runDir)]);
  const rel = relative(realOut, realRun);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new InvalidArgumentError(
      `The export folder ${out} is the run directory or a folder that contains it; exporting there would replace the run. Choose a new folder, e.g. ${join(dirname(runDir), `${basename(runDir)}-web`)}.`,
    );
  }
  let entries: string[];
  try {
    if (!(await stat(out)).isDirectory()) {
      throw new InvalidArgumentError(
        `The export folder ${out} is a file, not a folder. Choose a new or empty folder.`,
      );
    }
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length === 0 || entries.includes(WEB_EXPORT_MARKER)) return;
  if (await isUnmarkedExport(out, entries)) return;
  throw new InvalidArgumentError(
    `The export folder ${out} already holds files that are not a cbtm web export (it has no ${WEB_EXPORT_MARKER} marker), and the export replaces the whole folder. Choose a new or empty folder, or move those files away first.`,
  );
}

/** Puts the finished export `tmp` in place of `out`, which holds an earlier export or nothing. */
async function swapInto(tmp: string, out: string): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  const old = join(dirname(out), `.${basename(out)}.old-${randomBytes(4).toString('hex')}`);
  let moved = false;
  try {
    await rename(out, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await rename(tmp, out);
  } catch (err) {
    if (moved) await rename(old, out);
    throw err;
  }
  if (moved) await rm(old, { recursive: true, force: true });
}

/** The embedder as term rows (@cbtm/embed's `toTermRows`); the error names the folder. */
function webEmbedder(
  embedder: TfidfSvdEmbedder,
  embedderDir: string,
): { json: WebEmbedderJson; rows: Uint8Array } {
  try {
    const { json, rows } = toTermRows(embedder, 'embedder.f32');
    return { json, rows: encodeFloat32LE(rows) };
  } catch (err) {
    if (err instanceof CbtmError && err.code === 'E_FORMAT')
      throw new CbtmError(
        'E_FORMAT',
        `${embedderDir}: the in-browser demo needs term rows. ${err.message}`,
        { cause: err },
      );
    throw err;
  }
}

/** The most common `domain` per cluster, from `clusters/metrics.json`'s contingency table. */
async function labelsFromMetrics(run: RunDir, k: number): Promise<(string | null)[] | null> {
  const file = new RunLayout(run.dir).clusters('metrics.json');
  if (!(await pathExists(file))) return null;
  let metrics: { labels?: { classes?: string[]; contingency?: number[][] } | null };
  try {
    metrics = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
  const classes = metrics.labels?.classes;
  const table = metrics.labels?.contingency;
  if (!Array.isArray(classes) || !Array.isArray(table)) return null;
  return Array.from({ length: k }, (_, j) => {
    let best = -1;
    for (let r = 0; r < classes.length; r++) {
      const c = table[r]?.[j] ?? 0;
      if (c > 0 && (best < 0 || c > (table[best]?.[j] ?? 0))) best = r;
    }
    return best >= 0 ? classes[best]! : null;
  });
}

/** The most common `domain` of each cluster's shard (`shards/<j>.jsonl.gz`), when present. */
async function labelsFromShards(
  run: RunDir,
  clusters: readonly number[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const j of clusters) {
    const shard = new RunLayout(run.dir).shard(j);
    if (!(await pathExists(shard))) continue;
    const counts = new Map<string, number>();
    for await (const doc of readCorpus(shard, { onInvalid: 'skip' })) {
      if (typeof doc.domain === 'string') counts.set(doc.domain, (counts.get(doc.domain) ?? 0) + 1);
    }
    const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (top) out.set(j, top[0]);
  }
  return out;
}

/**
 * A short label per exported expert: its cluster's most common `domain` (from the cluster
 * metrics, else from its shard), or `cluster <j>` when documents have no domain.
 */
async function clusterLabels(
  run: RunDir,
  k: number,
  chosen: readonly number[],
): Promise<Map<number, string>> {
  const fromMetrics = await labelsFromMetrics(run, k);
  const fromShards = fromMetrics ? new Map<number, string>() : await labelsFromShards(run, chosen);
  return new Map(chosen.map((j) => [j, fromMetrics?.[j] ?? fromShards.get(j) ?? `cluster ${j}`]));
}

async function listFiles(dir: string, prefix = ''): Promise<ExportedFile[]> {
  const out: ExportedFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), rel)));
    else out.push({ path: rel, bytes: (await stat(join(dir, e.name))).size });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * Exports a finished run for the browser, into `outDir`: the files are written to a sibling
 * temp folder that then takes the place of `outDir`. Only a new or empty folder, or an earlier
 * export (marked by {@link WEB_EXPORT_MARKER}), is replaced; the run directory and any folder
 * that contains it are refused. The export holds `manifest.json`, the
 * tokenizer (`tokenizer.json`), the tf-idf + SVD embedder as per-term rows
 * (`embedder.json`, `embedder.f32`), the centroids (`centroids.f32`), and each expert's
 * TensorFlow.js model (`experts/<j>/model.json` and its weights). The docs site's demo page
 * loads exactly these files.
 *
 * @example
 * ```ts
 * const { totalBytes } = await exportWeb('runs/tiny', 'docs/public/demo', { prompts: ['The LORD said'] });
 * ```
 */
export async function exportWeb(
  runDir: string,
  outDir: string,
  options: ExportWebOptions = {},
): Promise<ExportWebResult> {
  const o = { ...defaultExportWebOptions, ...options };
  const run = await RunDir.open(runDir);
  const out = resolve(outDir);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) {
    throw new InvalidArgumentError(
      `temperature must be a finite number > 0, got ${o.temperature}.`,
    );
  }
  await checkOutDir(out, run.dir);
  const progress = progressReporter('export-web', o.onProgress, { unit: 'files' });
  progress.start();

  const need = async (rel: string, stage: string) => {
    const p = run.path(rel);
    if (!(await pathExists(p))) {
      throw new RunDirError(
        'E_STAGE_MISSING',
        `${p} is missing: the run has no ${stage} yet. Finish it first (\`cbtm run --out ${runDir}\`).`,
      );
    }
    return p;
  };
  const embedderDir = await need('embedder', 'embedder');
  const routerDir = await need('router', 'router');
  const tokenizerFile = await need(join('tokenizer', 'tokenizer.json'), 'tokenizer');

  const embedder = await loadEmbedder(embedderDir);
  if (!(embedder instanceof TfidfSvdEmbedder)) {
    throw new CbtmError(
      'E_FORMAT',
      `${embedderDir} holds a "${embedder.kind}" embedder; the in-browser demo needs a tf-idf one (embed.embedder "tfidf").`,
    );
  }
  const router = await loadRouter(routerDir);
  const { k, dimension } = router;
  if (dimension !== embedder.dimension) {
    throw new CbtmError(
      'E_MODEL',
      `The router has dimension ${dimension} but the embedder ${embedder.dimension}; rebuild the router.`,
    );
  }
  // Experts taken out with `cbtm remove-expert` are not part of the ensemble: not exported.
  const expertSet = await readExpertSet(run.dir);
  const chosen = o.experts
    ? [...o.experts]
    : (expertSet?.active() ?? Array.from({ length: k }, (_, j) => j));
  if (
    chosen.length === 0 ||
    new Set(chosen).size !== chosen.length ||
    chosen.some((j) => !Number.isInteger(j) || j < 0 || j >= k)
  ) {
    throw new InvalidArgumentError(
      `experts must be distinct integers in 0..${k - 1}, got ${JSON.stringify(options.experts)}.`,
    );
  }
  const removed = chosen.filter((j) => expertSet?.isRemoved(j));
  if (removed.length > 0) {
    throw new InvalidArgumentError(
      `Expert ${removed.join(', ')} was removed from ${run.dir} (cbtm remove-expert); leave it out of experts, or put it back with cbtm remove-expert --restore ${removed[0]}.`,
    );
  }
  const topK = o.topK === 'all' ? 'all' : o.topK;
  if (topK !== 'all' && (!Number.isInteger(topK) || topK < 1)) {
    throw new InvalidArgumentError(`topK must be an integer ≥ 1 or 'all', got ${o.topK}.`);
  }
  for (const j of chosen) await need(join('experts', String(j), MODEL_JSON), `expert ${j}`);
  const labels = await clusterLabels(run, k, chosen);

  const tmp = join(dirname(out), `.${basename(out)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp, { recursive: true });
    throwIfAborted(o.signal);
    await copyFile(tokenizerFile, join(tmp, 'tokenizer.json'));
    const web = webEmbedder(embedder, embedderDir);
    await writeFile(join(tmp, 'embedder.f32'), web.rows);
    await writeFile(join(tmp, 'embedder.json'), JSON.stringify(web.json));
    progress.update(3);

    const all = router.centroids();
    const centroids = new Float32Array(chosen.length * dimension);
    for (const [i, j] of chosen.entries()) {
      centroids.set(all.subarray(j * dimension, (j + 1) * dimension), i * dimension);
    }
    await writeFile(join(tmp, 'centroids.f32'), encodeFloat32LE(centroids));

    const experts: WebDemoManifest['experts'][number][] = [];
    for (const [i, j] of chosen.entries()) {
      throwIfAborted(o.signal);
      const src = new RunLayout(run.dir).expert(j);
      const json = JSON.parse(await readFile(join(src, MODEL_JSON), 'utf8')) as {
        weightsManifest?: { paths: string[] }[];
      };
      const dst = join(tmp, 'experts', String(i));
      await mkdir(dst, { recursive: true });
      await copyFile(join(src, MODEL_JSON), join(dst, MODEL_JSON));
      for (const group of json.weightsManifest ?? []) {
        for (const p of group.paths) await copyFile(join(src, p), join(dst, p));
      }
      experts.push({
        index: i,
        cluster: j,
        label: labels.get(j)!,
        model: `experts/${i}/${MODEL_JSON}`,
      });
      progress.update(4 + i);
    }

    const manifest: WebDemoManifest = {
      format: WEB_DEMO_FORMAT,
      version: WEB_DEMO_VERSION,
      tokenizer: 'tokenizer.json',
      embedder: 'embedder.json',
      router: {
        k: chosen.length,
        dimension,
        centroids: 'centroids.f32',
        temperature: o.temperature,
        topK,
      },
      experts,
      prompts: [...o.prompts],
      source: { run: basename(run.dir), clusters: k, createdAt: run.manifest.createdAt },
    };
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(
      join(tmp, WEB_EXPORT_MARKER),
      'A cbtm web export (cbtm export-web). cbtm export-web replaces this folder as a whole.\n',
    );

    const files = (await listFiles(tmp)).filter((f) => f.path !== WEB_EXPORT_MARKER);
    const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
    if (totalBytes > o.maxBytes) {
      throw new InvalidArgumentError(
        `The export would be ${(totalBytes / 1e6).toFixed(1)} MB, over maxBytes (${(o.maxBytes / 1e6).toFixed(1)} MB). Export fewer experts, or train a smaller model or embedder.`,
      );
    }
    throwIfAborted(o.signal);
    // Checked again: the folder may have changed during the export.
    await checkOutDir(out, run.dir);
    await swapInto(tmp, out);
    progress.done({ metrics: { bytes: totalBytes, files: files.length } });
    return { outDir: out, manifest, files, totalBytes };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
