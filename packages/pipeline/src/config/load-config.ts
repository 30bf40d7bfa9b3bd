import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CbtmError } from '@cbtm/core';
import { pathExists } from '@cbtm/core/node';
import { z } from 'zod';
import { formatConfigIssues, formatPath } from './format-issues.js';
import { type CbtmConfig, cbtmConfigSchema } from './schema.js';

/**
 * Names looked for, in order, when no `--config` is given.
 *
 * @example
 * ```ts
 * CONFIG_FILE_NAMES[0]; // 'cbtm.config.json'
 * ```
 */
export const CONFIG_FILE_NAMES = ['cbtm.config.json', 'cbtm.config.mjs', 'cbtm.config.ts'] as const;

/**
 * One command-line flag that overrides a config field.
 *
 * @example
 * ```ts
 * const o: ConfigOverride = { path: ['cluster', 'k'], value: 8, flag: '--k' };
 * ```
 */
export interface ConfigOverride {
  /** The field, e.g. `['cluster', 'k']`. */
  readonly path: readonly string[];
  /** The flag's value as parsed (validated with the rest of the config). */
  readonly value: unknown;
  /** The flag, for error messages: `--k`. */
  readonly flag: string;
}

/**
 * Options of {@link loadConfig}.
 *
 * @example
 * ```ts
 * const opts: LoadConfigOptions = { file: 'cbtm.config.json', cwd: process.cwd() };
 * ```
 */
export interface LoadConfigOptions {
  /** Config file; when absent, the first of {@link CONFIG_FILE_NAMES} found in `cwd`, else defaults. */
  readonly file?: string;
  /** Directory where relative flag paths and the default config file are resolved. @default process.cwd() */
  readonly cwd?: string;
  /** Flags, applied over the file. */
  readonly overrides?: readonly ConfigOverride[];
}

/**
 * What {@link loadConfig} found.
 *
 * @example
 * ```ts
 * const { config, file }: LoadedConfig = await loadConfig();
 * ```
 */
export interface LoadedConfig {
  readonly config: CbtmConfig;
  /** The config file read, or null when only defaults and flags were used. */
  readonly file: string | null;
}

let cachedJsonSchema: Record<string, unknown> | undefined;

/**
 * The JSON Schema of `cbtm.config.json` (the input side: every field optional), for editors.
 *
 * @example
 * ```ts
 * await writeFile('cbtm.config.schema.json', JSON.stringify(configJsonSchema(), null, 2));
 * ```
 */
export function configJsonSchema(): Record<string, unknown> {
  cachedJsonSchema ??= z.toJSONSchema(cbtmConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return cachedJsonSchema;
}

function configError(message: string, cause?: unknown): CbtmError {
  return new CbtmError('E_CONFIG_INVALID', message, cause === undefined ? {} : { cause });
}

async function readConfigFile(file: string): Promise<unknown> {
  if (!(await pathExists(file))) {
    throw configError(
      `Config file not found: ${file}. Pass --config with an existing .json or .mjs file.`,
    );
  }
  if (file.endsWith('.json')) {
    const text = await readFile(file, 'utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw configError(
        `${file} is not valid JSON: ${(err as Error).message}. Fix the syntax.`,
        err,
      );
    }
  }
  if (
    file.endsWith('.mjs') ||
    file.endsWith('.js') ||
    file.endsWith('.ts') ||
    file.endsWith('.mts')
  ) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
        throw configError(
          `${file}: Node cannot load TypeScript by itself. Run cbtm with a TypeScript loader (node --import tsx), or use cbtm.config.mjs or .json.`,
          err,
        );
      }
      throw configError(`${file} failed to load: ${e.message.split('\n')[0]}`, err);
    }
    let value = mod.default ?? mod.config;
    if (typeof value === 'function') value = await (value as () => unknown)();
    if (value === undefined) {
      throw configError(`${file} exports no config. Add \`export default defineConfig({...})\`.`);
    }
    return value;
  }
  throw configError(`${file}: unsupported config file type. Use .json, .mjs or .ts.`);
}

/** Resolves relative paths in a raw config against `base` (the config file's folder). */
function resolvePaths(raw: unknown, base: string): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const abs = (p: unknown) =>
    typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p;
  if ('out' in out) out.out = abs(out.out);
  for (const [section, key] of [
    ['corpus', 'train'],
    ['corpus', 'valid'],
    ['embed', 'model'],
    ['train', 'seedFrom'],
  ] as const) {
    const s = out[section];
    if (s && typeof s === 'object' && !Array.isArray(s) && key in s) {
      out[section] = {
        ...(s as Record<string, unknown>),
        [key]: abs((s as Record<string, unknown>)[key]),
      };
    }
  }
  return out;
}

/**
 * Reads a config file (`.json`, `.mjs`, `.ts`) as the user wrote it, unvalidated, with its
 * relative paths resolved against the file's folder: for configs that extend the run config,
 * like `cbtm sweep`'s.
 *
 * @example
 * ```ts
 * const raw = await readRawConfig('/abs/sweep.json'); // { out: '/abs/runs/sweep', sweep: {...} }
 * ```
 */
export async function readRawConfig(file: string): Promise<unknown> {
  return resolvePaths(await readConfigFile(file), dirname(file));
}

function applyOverrides(raw: unknown, overrides: readonly ConfigOverride[]): unknown {
  if (overrides.length === 0) return raw;
  const root: Record<string, unknown> =
    raw && typeof raw === 'object' && !Array.isArray(raw)
      ? structuredClone(raw as Record<string, unknown>)
      : {};
  for (const { path, value } of overrides) {
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}

/**
 * Validates a raw config (parsed JSON, or what a `.mjs` exports) and fills in defaults. The error
 * names every bad field and the values it allows.
 *
 * @example
 * ```ts
 * resolveConfig({ cluster: { k: 0 } });
 * // throws CbtmError E_CONFIG_INVALID: Invalid config: field "cluster.k" must be an integer ≥ 1, got 0.
 * ```
 */
export function resolveConfig(
  raw: unknown,
  options: { readonly source?: string; readonly overrides?: readonly ConfigOverride[] } = {},
): CbtmConfig {
  const overrides = options.overrides ?? [];
  // Checked before the flags are applied, which would otherwise start from an empty object.
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    const got = Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw;
    throw configError(
      `Invalid config${options.source ? ` ${options.source}` : ''}: expected a JSON object ({"cluster": {"k": 8}, ...}), got ${got} (${JSON.stringify(raw)?.slice(0, 40)}).`,
    );
  }
  const input = applyOverrides(raw ?? {}, overrides) as Record<string, unknown>;
  const result = cbtmConfigSchema.safeParse(input);
  if (result.success) return result.data;
  // The flag that set a field (or a parent of it, like --top-k for eval.topK[0]).
  const flagOf = (path: readonly PropertyKey[]) => {
    const field = formatPath(path);
    return overrides.find((o) => {
      const p = formatPath(o.path);
      return field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`);
    })?.flag;
  };
  const messages = formatConfigIssues(result.error.issues, input, configJsonSchema()).map(
    (message, i) => {
      const flag = flagOf(result.error.issues[i]!.path);
      return flag ? `${flag}: ${message}` : message;
    },
  );
  const fromFlagsOnly = result.error.issues.every((issue) => flagOf(issue.path) !== undefined);
  const where =
    fromFlagsOnly || !options.source ? 'Invalid config' : `Invalid config ${options.source}`;
  throw configError(`${where}: ${messages.join('; ')}.`, result.error);
}

/**
 * Loads `cbtm.config.json` / `.mjs` / `.ts` (or the file given), applies command-line
 * overrides, and validates. Relative paths in the file are resolved against the file's folder;
 * relative flag values against `cwd`.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ overrides: [{ path: ['cluster', 'k'], value: 8, flag: '--k' }] });
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  let file: string | null = null;
  if (options.file) file = resolve(cwd, options.file);
  else {
    for (const name of CONFIG_FILE_NAMES) {
      if (await pathExists(join(cwd, name))) {
        file = join(cwd, name);
        break;
      }
    }
  }
  const raw = file ? resolvePaths(await readConfigFile(file), dirname(file)) : {};
  const overrides = (options.overrides ?? []).map((o) => {
    const isPath = [
      'out',
      'corpus.train',
      'corpus.valid',
      'embed.model',
      'train.seedFrom',
    ].includes(o.path.join('.'));
    return isPath && typeof o.value === 'string' && o.value !== ''
      ? { ...o, value: resolve(cwd, o.value) }
      : o;
  });
  const config = resolveConfig(raw, { ...(file ? { source: file } : {}), overrides });
  // The default run directory is relative to where cbtm runs.
  const out = isAbsolute(config.out) ? config.out : resolve(cwd, config.out);
  return { config: { ...config, out }, file };
}
