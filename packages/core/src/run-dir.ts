import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from './atomic-write.js';
import { hashConfig, sha256Path } from './checksum.js';
import { RunDirError } from './errors.js';
import { pathExists } from './path-exists.js';
import { RunLayout } from './run-layout.js';

/** The run-directory format version this build writes and the newest it reads. */
export const RUN_FORMAT_VERSION = 1;

/** What the manifest records about one finished stage. */
export interface StageRecord {
  /** The config the stage ran with (only the part that affects its outputs). */
  readonly config: unknown;
  /** `hashConfig(config)`: a stage is reused only when this matches. */
  readonly configHash: string;
  /** ISO time the stage finished. */
  readonly completedAt: string;
  /** Output paths relative to the run directory, with their SHA-256. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Small facts worth keeping (e.g. `k`, token counts, the backend). */
  readonly info?: Readonly<Record<string, unknown>>;
}

/** `<run>/manifest.json`. */
export interface RunManifest {
  readonly format: 'cbtm-run';
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The whole run config, as last given. */
  readonly config: unknown;
  readonly stages: Readonly<Record<string, StageRecord>>;
}

/**
 * A temp file older than this is left over from a writer that died (a manifest write takes
 * milliseconds); younger ones may belong to a writer on another machine sharing the run.
 */
const STALE_TEMP_MS = 60_000;

/** Removes `.manifest.json.<pid>.<time>.<n>.tmp` files that a killed writer left behind. */
async function removeStaleManifestTemps(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^\.manifest\.json\..+\.tmp$/.test(name)) continue;
    const file = join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true });
  }
}

/**
 * A run directory: the one artifact format every cbtm stage reads and writes. The manifest
 * records which stages are done, with their config hash and output checksums. Every write is
 * atomic, so a crash leaves the previous manifest intact.
 *
 * @example
 * ```ts
 * const run = await RunDir.openOrCreate('runs/demo', { config: { k: 4 } });
 * if (!run.stageDone('cluster', { k: 4 })) {
 *   // ... write run.path('clusters', 'centroids.bin') ...
 *   await run.markStageDone('cluster', { config: { k: 4 }, outputs: ['clusters'] });
 * }
 * ```
 */
export class RunDir {
  /** Absolute path of the run directory. */
  readonly dir: string;
  #manifest: RunManifest;

  private constructor(dir: string, manifest: RunManifest) {
    this.dir = dir;
    this.#manifest = manifest;
  }

  /** The manifest as last written. */
  get manifest(): RunManifest {
    return this.#manifest;
  }

  /** `<run>/manifest.json` for a run directory path. */
  static manifestPath(dir: string): string {
    return new RunLayout(dir).manifest;
  }

  /** True when `dir` holds a manifest (it may still be invalid). */
  static exists(dir: string): Promise<boolean> {
    return pathExists(RunDir.manifestPath(dir));
  }

  /**
   * Creates a new run directory. Fails if one already exists there (use `openOrCreate` to resume).
   */
  static async create(dir: string, options: { readonly config?: unknown } = {}): Promise<RunDir> {
    const abs = resolve(dir);
    if (await RunDir.exists(abs)) {
      throw new RunDirError(
        'E_RUN_INVALID',
        `${abs} already holds a cbtm run (manifest.json exists). Open it to resume, or choose another directory.`,
      );
    }
    await mkdir(abs, { recursive: true });
    const now = new Date().toISOString();
    const manifest: RunManifest = {
      format: 'cbtm-run',
      version: RUN_FORMAT_VERSION,
      createdAt: now,
      updatedAt: now,
      config: options.config ?? null,
      stages: {},
    };
    await writeJsonAtomic(RunDir.manifestPath(abs), manifest);
    return new RunDir(abs, manifest);
  }

  /**
   * Opens and validates an existing run directory. Fails with `E_RUN_VERSION` when it was written
   * by a newer format version, and `E_RUN_INVALID` when it is missing or corrupt. Removes the
   * temp files of manifest writes that were killed midway (older than a minute).
   */
  static async open(dir: string): Promise<RunDir> {
    const abs = resolve(dir);
    const file = RunDir.manifestPath(abs);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new RunDirError(
        'E_RUN_INVALID',
        `${abs} is not a cbtm run directory: ${file} is missing. Create one with \`cbtm run --out ${dir}\`.`,
        { cause: err },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new RunDirError(
        'E_RUN_INVALID',
        `${file} is not valid JSON: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const manifest = validateManifest(parsed, file);
    await removeStaleManifestTemps(abs);
    return new RunDir(abs, manifest);
  }

  /** Opens the run at `dir`, or creates it when there is none. */
  static async openOrCreate(
    dir: string,
    options: { readonly config?: unknown } = {},
  ): Promise<RunDir> {
    return (await RunDir.exists(dir)) ? RunDir.open(dir) : RunDir.create(dir, options);
  }

  /** A path inside the run directory. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** The record of a finished stage, if any. */
  stage(name: string): StageRecord | undefined {
    return this.#manifest.stages[name];
  }

  /**
   * True when `name` finished, with the same config (when `config` is given).
   */
  stageDone(name: string, config?: unknown): boolean {
    const record = this.#manifest.stages[name];
    if (!record) return false;
    return config === undefined || record.configHash === hashConfig(config);
  }

  /**
   * Recomputes the checksums of a finished stage's outputs; true when all still match.
   */
  async verifyStage(name: string): Promise<boolean> {
    const record = this.#manifest.stages[name];
    if (!record) return false;
    for (const [rel, sum] of Object.entries(record.outputs)) {
      const full = this.path(rel);
      if (!(await pathExists(full))) return false;
      if ((await sha256Path(full)) !== sum) return false;
    }
    return true;
  }

  /**
   * Records a stage as done: its config, its outputs' checksums, and optional facts.
   */
  async markStageDone(
    name: string,
    record: {
      readonly config: unknown;
      readonly outputs: readonly string[];
      readonly info?: Record<string, unknown>;
    },
  ): Promise<StageRecord> {
    const outputs: Record<string, string> = {};
    for (const rel of record.outputs) {
      const full = this.path(rel);
      if (!(await pathExists(full))) {
        throw new RunDirError(
          'E_RUN_INVALID',
          `Stage ${name} claims output ${full}, which does not exist.`,
        );
      }
      outputs[rel] = await sha256Path(full);
    }
    const stage: StageRecord = {
      config: record.config,
      configHash: hashConfig(record.config),
      completedAt: new Date().toISOString(),
      outputs,
      ...(record.info ? { info: record.info } : {}),
    };
    await this.#write({ stages: { ...this.#manifest.stages, [name]: stage } });
    return stage;
  }

  /** Forgets a stage (and every stage listed in `dependents`), so it runs again. */
  async invalidateStage(name: string, dependents: readonly string[] = []): Promise<void> {
    const stages = { ...this.#manifest.stages };
    for (const n of [name, ...dependents]) delete stages[n];
    await this.#write({ stages });
  }

  /** Replaces the run config stored in the manifest. */
  async setConfig(config: unknown): Promise<void> {
    await this.#write({ config });
  }

  async #write(patch: Partial<Pick<RunManifest, 'stages' | 'config'>>): Promise<void> {
    const next: RunManifest = { ...this.#manifest, ...patch, updatedAt: new Date().toISOString() };
    await writeJsonAtomic(RunDir.manifestPath(this.dir), next);
    this.#manifest = next;
  }
}

function validateManifest(value: unknown, file: string): RunManifest {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RunDirError('E_RUN_INVALID', `${file}: expected a JSON object.`);
  }
  const m = value as Record<string, unknown>;
  if (m.format !== 'cbtm-run') {
    throw new RunDirError(
      'E_RUN_INVALID',
      `${file}: field "format" is ${JSON.stringify(m.format)}, expected "cbtm-run". This is not a cbtm run directory.`,
    );
  }
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1) {
    throw new RunDirError(
      'E_RUN_INVALID',
      `${file}: field "version" must be a positive integer, got ${JSON.stringify(m.version)}.`,
    );
  }
  if (m.version > RUN_FORMAT_VERSION) {
    throw new RunDirError(
      'E_RUN_VERSION',
      `${file}: run format version ${m.version} was written by a newer cbtm; this cbtm reads up to version ${RUN_FORMAT_VERSION}. Upgrade cbtm to open it.`,
    );
  }
  if (!m.stages || typeof m.stages !== 'object' || Array.isArray(m.stages)) {
    throw new RunDirError('E_RUN_INVALID', `${file}: field "stages" must be an object.`);
  }
  return m as unknown as RunManifest;
}
