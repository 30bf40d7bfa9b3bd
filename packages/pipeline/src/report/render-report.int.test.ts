import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, describeWithProgram } from '@cbtm/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARTIFACTS, openReport } from '../test-utils/open-report.js';
import { sampleReportData } from '../test-utils/sample-report.js';
import { REPORT_CHART_IDS, renderReportHtml } from './render-report.js';

describeWithProgram(CHROMIUM, 'report page in headless Chromium (hand-made data)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbtm-report-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws every chart offline, without console errors', async () => {
    const file = join(dir, 'report.html');
    await writeFile(file, renderReportHtml(sampleReportData()));
    const page = await openReport(
      file,
      fileURLToPath(new URL('report-sample.png', ARTIFACTS)),
      REPORT_CHART_IDS,
    );
    expect(page.pageErrors).toEqual([]);
    expect(page.consoleErrors).toEqual([]);
    expect(page.requests).toEqual([]);
    for (const id of REPORT_CHART_IDS) {
      expect(page.charts[id], id).toBe('rendered');
      expect(page.canvases[id]!.canvases, id).toBeGreaterThan(0);
      expect(page.canvases[id]!.colors, id).toBeGreaterThan(5);
    }
    expect(page.resultsText).toContain('c-BTM top-1');
  });
});
