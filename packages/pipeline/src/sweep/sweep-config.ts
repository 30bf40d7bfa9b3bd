import { isAbsolute, resolve } from 'node:path';
import { CbtmError } from '@cbtm/core';
import { z } from 'zod';
import { formatConfigIssues } from '../config/format-issues.js';
import { readRawConfig } from '../config/load-config.js';
import { type CbtmConfig, cbtmConfigSchema, topKSchema } from '../config/schema.js';

const positiveInt = () => z.number().int().min(1);

const distinct = <T>(values: readonly T[]) => new Set(values).size === values.length;

const sweepSectionSchema = z
  .strictObject({
    k: z
      .array(positiveInt())
      .min(1)
      .default([1, 2, 4, 8])
      .refine(distinct, { message: 'must not repeat a value' })
      .describe('Expert counts of the grid. k = 1 is the dense model: one expert on everything.'),
    tokens: z
      .array(positiveInt())
      .min(1)
      .default([250_000, 500_000, 1_000_000])
      .refine(distinct, { message: 'must not repeat a value' })
      .describe(
        'Training budgets of the grid, in tokens after the seed (train.tokens of each grid run; the k experts share it).',
      ),
    topK: z
      .array(topKSchema)
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'c-BTM settings scored and reported at every grid point (experts mixed per token, or "all"). null: eval.topK.',
      ),
    plot: topKSchema
      .default('all')
      .describe('The c-BTM setting drawn in the first figure (one figure follows per setting).'),
    seedRatio: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe(
        'Train a seed per budget, of seedRatio × the budget tokens (`<out>/seed-t<tokens>/`), instead of one shared seed of train.seedTokens: c-BTM leads dense by more as the budget grows only while the seed is several times the phase after it (docs: Fidelity). Not with train.seedFrom. null: one shared seed.',
      ),
  })
  .prefault({});

/**
 * The zod schema of a `cbtm sweep` config: every field of `cbtm.config.json` (the settings
 * shared by every run of the sweep) plus a `sweep` section with the grid.
 *
 * @example
 * ```ts
 * const config = sweepConfigSchema.parse({ sweep: { k: [1, 4], tokens: [250000, 1000000] } });
 * config.sweep.k; // [1, 4]
 * ```
 */
export const sweepConfigSchema = cbtmConfigSchema
  .extend({
    out: z.string().min(1).default('runs/sweep').describe('Folder of the sweep and its runs.'),
    sweep: sweepSectionSchema,
  })
  .describe('cbtm sweep configuration: a run configuration plus the k × budget grid.');

/**
 * A validated sweep config with every default filled in.
 *
 * @example
 * ```ts
 * const config: SweepConfig = resolveSweepConfig({ sweep: { k: [1, 2] } });
 * ```
 */
export type SweepConfig = z.output<typeof sweepConfigSchema>;

/**
 * What a user writes in a sweep config file: every field optional.
 *
 * @example
 * ```ts
 * const input: SweepConfigInput = { corpus: { train: 'data/train.jsonl.gz' }, sweep: { k: [1, 8] } };
 * ```
 */
export type SweepConfigInput = z.input<typeof sweepConfigSchema>;

let cachedJsonSchema: Record<string, unknown> | undefined;

/**
 * The JSON Schema of a sweep config (the input side), for editors.
 *
 * @example
 * ```ts
 * await writeFile('cbtm.sweep.schema.json', JSON.stringify(sweepConfigJsonSchema(), null, 2));
 * ```
 */
export function sweepConfigJsonSchema(): Record<string, unknown> {
  cachedJsonSchema ??= z.toJSONSchema(sweepConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return cachedJsonSchema;
}

/**
 * Validates a raw sweep config and fills in defaults; the error names every bad field.
 *
 * @example
 * ```ts
 * resolveSweepConfig({ sweep: { k: [0] } });
 * // throws CbtmError E_CONFIG_INVALID: Invalid sweep config: field "sweep.k[0]" must be …
 * ```
 */
export function resolveSweepConfig(
  raw: unknown,
  options: { readonly source?: string } = {},
): SweepConfig {
  const where = `Invalid sweep config${options.source ? ` ${options.source}` : ''}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CbtmError(
      'E_CONFIG_INVALID',
      `${where}: expected a JSON object ({"sweep": {"k": [1, 2, 4, 8]}, ...}).`,
    );
  }
  const result = sweepConfigSchema.safeParse(raw);
  if (result.success) {
    if (result.data.sweep.seedRatio !== null && result.data.train.seedFrom !== null) {
      throw new CbtmError(
        'E_CONFIG_INVALID',
        `${where}: sweep.seedRatio trains a seed for each budget, so train.seedFrom (one seed for all) must be null; set one of them.`,
      );
    }
    return result.data;
  }
  const messages = formatConfigIssues(result.error.issues, raw, sweepConfigJsonSchema());
  throw new CbtmError('E_CONFIG_INVALID', `${where}: ${messages.join('; ')}.`, {
    cause: result.error,
  });
}

/**
 * Reads and validates a sweep config file (`.json`, `.mjs`). Relative paths in it resolve
 * against its folder; the default `out` against `cwd`.
 *
 * @example
 * ```ts
 * const config = await loadSweepConfig('sweep.json', process.cwd());
 * ```
 */
export async function loadSweepConfig(file: string, cwd: string): Promise<SweepConfig> {
  const abs = resolve(cwd, file);
  const config = resolveSweepConfig(await readRawConfig(abs), { source: abs });
  return { ...config, out: isAbsolute(config.out) ? config.out : resolve(cwd, config.out) };
}

/**
 * The run config of a sweep (its `sweep` section removed), as every run of it starts from.
 *
 * @example
 * ```ts
 * const base: CbtmConfig = baseRunConfig(sweepConfig);
 * ```
 */
export function baseRunConfig(config: SweepConfig): CbtmConfig {
  const { sweep: _sweep, $schema: _schema, ...rest } = config;
  return rest;
}
