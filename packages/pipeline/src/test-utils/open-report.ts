import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM } from '@cbtm/testing';

/** Screenshots and other test artifacts (gitignored). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

export interface ReportPageCheck {
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  readonly requests: string[];
  readonly charts: Record<string, string>;
  /** For each chart id: canvas count and how many distinct colors its pixels hold. */
  readonly canvases: Record<
    string,
    { canvases: number; width: number; height: number; colors: number }
  >;
  readonly resultsText: string;
}

/**
 * Opens an HTML report in headless Chromium with the network cut off, waits for every chart,
 * saves a full-page screenshot, and returns what the page did.
 */
export async function openReport(
  htmlFile: string,
  screenshot: string,
  chartIds: readonly string[],
): Promise<ReportPageCheck> {
  const { chromium } = await import('playwright-core');
  const userDataDir = await mkdtemp(join(tmpdir(), 'cbtm-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM.path!,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    // The report must be self-contained: any non-file request fails the check.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (!url.startsWith('file:')) {
        requests.push(url);
        return route.abort();
      }
      return route.continue();
    });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    await page.waitForFunction(
      (ids: string[]) => {
        const charts = (window as unknown as { cbtmCharts?: Record<string, string> }).cbtmCharts;
        return !!charts && ids.every((id) => charts[id] === 'rendered' || charts[id] === 'missing');
      },
      [...chartIds],
      { timeout: 20_000 },
    );
    const charts = await page.evaluate(() => ({
      ...(window as unknown as { cbtmCharts: Record<string, string> }).cbtmCharts,
    }));
    const canvases = await page.evaluate(
      (ids: string[]) => {
        const out: Record<
          string,
          { canvases: number; width: number; height: number; colors: number }
        > = {};
        for (const id of ids) {
          const list = Array.from(document.querySelectorAll<HTMLCanvasElement>(`#${id} canvas`));
          const c = list[0];
          let colors = 0;
          if (c) {
            const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set<number>();
            for (let i = 0; i < data.length; i += 4 * 7)
              seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
            colors = seen.size;
          }
          out[id] = { canvases: list.length, width: c?.width ?? 0, height: c?.height ?? 0, colors };
        }
        return out;
      },
      [...chartIds],
    );
    const resultsText = (await page.locator('#results').textContent()) ?? '';
    await mkdir(new URL('.', pathToFileURL(screenshot)), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    return { consoleErrors, pageErrors, requests, charts, canvases, resultsText };
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
