import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CbtmError,
  decodeFloat32LE,
  encodeFloat32LE,
  RunDirError,
  writeFileAtomic,
} from '@cbtm/core/node';
import { writeAtomically } from './atomic.js';
import type { RouterKind } from './router.js';
import {
  CENTROIDS_FILE,
  HNSW_INDEX_FILE,
  ROUTER_FORMAT_VERSION,
  ROUTER_MANIFEST_FILE,
  type RouterManifest,
  type SavedHnswParams,
} from './router-format.js';

/** Writes centroids, the optional index, then `router.json`. @internal */
export async function writeRouterFiles(
  dir: string,
  meta: { kind: RouterKind; k: number; dimension: number },
  centroids: Float32Array,
  hnsw?: { params: SavedHnswParams; writeIndex: (path: string) => Promise<void> },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const bytes = encodeFloat32LE(centroids);
  await writeFileAtomic(join(dir, CENTROIDS_FILE), bytes);
  if (hnsw) await writeAtomically(join(dir, HNSW_INDEX_FILE), hnsw.writeIndex);
  const manifest: RouterManifest = {
    format: 'cbtm-router',
    version: ROUTER_FORMAT_VERSION,
    kind: meta.kind,
    k: meta.k,
    dimension: meta.dimension,
    centroids: {
      file: CENTROIDS_FILE,
      dtype: 'float32-le',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    },
    ...(hnsw ? { hnsw: { ...hnsw.params, file: HNSW_INDEX_FILE } } : {}),
  };
  await writeFileAtomic(join(dir, ROUTER_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads and validates `router.json` and the centroids it names. @internal */
export async function readRouterFiles(
  dir: string,
): Promise<{ manifest: RouterManifest; centroids: Float32Array }> {
  const manifestPath = join(dir, ROUTER_MANIFEST_FILE);
  let raw: string;
  try {
    raw = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new RunDirError(
      'E_STAGE_MISSING',
      `No router at ${manifestPath}. Build one with buildRouterFromCentroids(...) and router.save(dir).`,
      { cause },
    );
  }
  let manifest: RouterManifest;
  try {
    manifest = JSON.parse(raw) as RouterManifest;
  } catch (cause) {
    throw new RunDirError(
      'E_RUN_INVALID',
      `${manifestPath} is not valid JSON; rebuild the router.`,
      {
        cause,
      },
    );
  }
  if (manifest?.format !== 'cbtm-router') {
    throw new RunDirError('E_RUN_INVALID', `${manifestPath} is not a cbtm router manifest.`);
  }
  if (manifest.version !== ROUTER_FORMAT_VERSION) {
    throw new RunDirError(
      'E_RUN_VERSION',
      `${manifestPath} has router format version ${manifest.version}; this @cbtm/route reads version ${ROUTER_FORMAT_VERSION}. Rebuild the router or upgrade @cbtm/route.`,
    );
  }
  const bytes = await readFile(join(dir, manifest.centroids.file));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (
    sha !== manifest.centroids.sha256 ||
    bytes.byteLength !== manifest.k * manifest.dimension * 4
  ) {
    throw new CbtmError(
      'E_FORMAT',
      `${join(dir, manifest.centroids.file)} does not match ${manifestPath} (size or checksum differ). Rebuild the router.`,
    );
  }
  return { manifest, centroids: decodeFloat32LE(bytes) };
}
