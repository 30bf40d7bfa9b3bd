import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CbtmError, InvalidArgumentError, RunDirError } from '@cbtm/core';
import { pathExists, RunLayout, writeJsonAtomic } from '@cbtm/core/node';
import { ExpertSet, type RemovedExpert } from './expert-set.js';

/**
 * File name of the expert set, inside `<run>/experts/`.
 *
 * @example
 * ```ts
 * join('runs/demo', 'experts', EXPERT_SET_FILE); // the same as expertSetPath('runs/demo')
 * ```
 */
export const EXPERT_SET_FILE = 'expert-set.json';

/**
 * Where removed experts' folders go, relative to the run directory.
 *
 * @example
 * ```ts
 * await readdir(join('runs/demo', REMOVED_EXPERTS_DIR)); // ['2.20261204T170000Z']
 * ```
 */
export const REMOVED_EXPERTS_DIR = 'removed-experts';

/**
 * `<run>/experts/expert-set.json`.
 *
 * @example
 * ```ts
 * expertSetPath('runs/demo'); // 'runs/demo/experts/expert-set.json'
 * ```
 */
export function expertSetPath(runDir: string): string {
  return join(new RunLayout(runDir).experts, EXPERT_SET_FILE);
}

/**
 * Reads `<run>/experts/expert-set.json`, or returns null when the run has none (every expert
 * takes part).
 *
 * @example
 * ```ts
 * const set = await readExpertSet('runs/demo');
 * console.log(set ? set.active() : 'all experts');
 * ```
 */
export async function readExpertSet(runDir: string): Promise<ExpertSet | null> {
  const file = expertSetPath(runDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CbtmError('E_FORMAT', `${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return ExpertSet.fromJSON(json, file);
}

/** The router's k, from `<run>/router/router.json`. */
async function routerK(layout: RunLayout): Promise<number> {
  const { ROUTER_MANIFEST_FILE } = await import('@cbtm/route');
  const file = join(layout.router, ROUTER_MANIFEST_FILE);
  if (!(await pathExists(file))) {
    throw new RunDirError(
      'E_STAGE_MISSING',
      `${file} is missing: build the router first (the pipeline's router stage).`,
    );
  }
  const k = (JSON.parse(await readFile(file, 'utf8')) as { k?: unknown }).k;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new CbtmError('E_FORMAT', `${file}: field "k" must be an integer ≥ 1.`);
  }
  return k;
}

function stamp(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * What {@link removeExpert} and {@link restoreExpert} did.
 *
 * @example
 * ```ts
 * const { set, moved } = await removeExpert('runs/demo', 2);
 * console.log(set.active(), moved.from, '→', moved.to);
 * ```
 */
export interface ExpertSetChange {
  /** The expert set now saved. */
  readonly set: ExpertSet;
  /** The folder move, as absolute paths. */
  readonly moved: { readonly from: string; readonly to: string };
}

/**
 * Takes expert `expert` out of a run's ensemble, recoverably: its folder moves to
 * `<run>/removed-experts/<j>.<time>/` and `<run>/experts/expert-set.json` lists it as removed, so
 * routing renormalizes over the other experts. Nothing else is touched: the other experts'
 * folders, the router and the clusters stay as they are. The expert set is written first and
 * the folder moved second (both atomic), so an interrupted removal is finished by running it
 * again. Refuses an unknown or already removed expert, and the last one left.
 *
 * This does not update the run manifest's checksums; `cbtm remove-expert` does.
 *
 * @example
 * ```ts
 * const { set } = await removeExpert('runs/demo', 2);
 * set.active(); // [0, 1, 3]
 * ```
 */
export async function removeExpert(
  runDir: string,
  expert: number,
  options: { readonly now?: Date } = {},
): Promise<ExpertSetChange> {
  const layout = new RunLayout(runDir);
  const k = await routerK(layout);
  const current = (await readExpertSet(runDir)) ?? new ExpertSet(k);
  if (current.k !== k) {
    throw new CbtmError(
      'E_RUN_INVALID',
      `${expertSetPath(runDir)} is for k = ${current.k}, but the router has k = ${k}. Delete the file (every expert takes part again) or rebuild the router.`,
    );
  }
  const from = layout.expert(expert);
  const previous = current.removed.find((r) => r.expert === expert);
  if (previous) {
    const to = layout.path(previous.movedTo);
    // Listed as removed but its folder was not moved yet: an interrupted removal; finish it.
    if ((await pathExists(from)) && !(await pathExists(to))) {
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
      return { set: current, moved: { from, to } };
    }
    throw new InvalidArgumentError(
      `Expert ${expert} was already removed (its folder is ${to}). Restore it with \`cbtm remove-expert --run ${runDir} --restore ${expert}\`.`,
    );
  }
  if (!Number.isInteger(expert) || expert < 0 || expert >= k) {
    throw new InvalidArgumentError(
      `Expert ${expert} does not exist; this run has experts 0..${k - 1}.`,
    );
  }
  if (!(await pathExists(from))) {
    throw new RunDirError(
      'E_STAGE_MISSING',
      `${from} is missing, so expert ${expert} cannot be removed. Train it first, or check the run directory.`,
    );
  }
  const removedAt = (options.now ?? new Date()).toISOString();
  let movedTo = join(REMOVED_EXPERTS_DIR, `${expert}.${stamp(removedAt)}`);
  for (let n = 2; await pathExists(layout.path(movedTo)); n++) {
    movedTo = join(REMOVED_EXPERTS_DIR, `${expert}.${stamp(removedAt)}-${n}`);
  }
  const next = current.remove(expert, movedTo, removedAt);
  const to = layout.path(movedTo);
  await writeJsonAtomic(expertSetPath(runDir), next.toJSON());
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
  return { set: next, moved: { from, to } };
}

/**
 * Puts a removed expert back: moves its folder from `<run>/removed-experts/` back to
 * `<run>/experts/<j>/` and drops it from the expert set (deleting `expert-set.json` once no
 * expert is removed, so the experts folder is exactly as before the removal).
 *
 * @example
 * ```ts
 * await removeExpert('runs/demo', 2);
 * (await restoreExpert('runs/demo', 2)).set.active(); // [0, 1, 2, 3]
 * ```
 */
export async function restoreExpert(runDir: string, expert: number): Promise<ExpertSetChange> {
  const layout = new RunLayout(runDir);
  const current = await readExpertSet(runDir);
  const entry: RemovedExpert | undefined = current?.removed.find((r) => r.expert === expert);
  if (!current || !entry) {
    throw new InvalidArgumentError(
      `Expert ${expert} was not removed, so there is nothing to restore.`,
    );
  }
  const from = layout.path(entry.movedTo);
  const to = layout.expert(expert);
  if (await pathExists(from)) {
    if (await pathExists(to)) {
      throw new RunDirError(
        'E_RUN_INVALID',
        `${to} exists (a retrained expert ${expert}?), so ${from} cannot move back. Move one of them away first.`,
      );
    }
    await rename(from, to);
  } else if (!(await pathExists(to))) {
    throw new RunDirError(
      'E_RUN_INVALID',
      `The removed expert's folder ${from} is missing, so expert ${expert} cannot be restored.`,
    );
  }
  const next = current.restore(expert);
  if (next.removed.length === 0) await rm(expertSetPath(runDir), { force: true });
  else await writeJsonAtomic(expertSetPath(runDir), next.toJSON());
  return { set: next, moved: { from, to } };
}
