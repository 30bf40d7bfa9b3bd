import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, resolveConfig } from '@cbtm/pipeline';
import { describe, expect, it } from 'vitest';
import { DOCS, ROOT } from './test-utils/paths.js';

const exec = promisify(execFile);

async function check(script: string): Promise<{ code: number; stderr: string }> {
  try {
    await exec(process.execPath, [join(ROOT, 'tools', 'docs', script), '--check'], { cwd: ROOT });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? 1, stderr: e.stderr ?? '' };
  }
}

describe('generated docs pages', () => {
  it("docs/cli.md matches the CLI's --help and config schema (else run tools/docs/gen-cli-reference.mjs)", async () => {
    const r = await check('gen-cli-reference.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('docs/results/*/summary.md and its plots match the collected run files (else run tools/docs/gen-results-page.mjs)', async () => {
    const r = await check('gen-results-page.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it("docs/packages/api/*.md match the packages' exports (else run tools/docs/gen-api-reference.mjs)", async () => {
    const r = await check('gen-api-reference.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('the configs the docs run', () => {
  it('tools/docs/demo-web.config.json is valid', async () => {
    const { config } = await loadConfig({
      file: join(ROOT, 'tools', 'docs', 'demo-web.config.json'),
      cwd: ROOT,
    });
    expect(config.out).toBe(join(ROOT, 'runs', 'web-demo'));
  });

  it("the Results page's command reproduces the config its run recorded", async () => {
    const { config } = await loadConfig({
      file: join(ROOT, 'tools', 'docs', 'results-corpus-v1.config.json'),
      cwd: ROOT,
    });
    const run = JSON.parse(await readFile(join(DOCS, 'results', 'corpus-v1', 'run.json'), 'utf8'));
    expect(run.command).toContain('--config tools/docs/results-corpus-v1.config.json');
    const { out: _a, corpus: _b, ...fromFile } = config;
    // Settings added since the run was recorded take their defaults, as they would on a rerun.
    const { out: _c, corpus: _d, ...recorded } = resolveConfig(run.config);
    expect(fromFile).toEqual(recorded);
  });
});
