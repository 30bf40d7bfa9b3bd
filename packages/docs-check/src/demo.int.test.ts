import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CHROMIUM, describeWithProgram } from '@cbtm/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSite } from './test-utils/build-site.js';
import { launchChromium } from './test-utils/chromium.js';
import { ARTIFACTS, SITE } from './test-utils/paths.js';
import { type StaticSite, serveStatic } from './test-utils/static-server.js';

describeWithProgram(CHROMIUM, 'the in-browser demo in Chromium', () => {
  let site: StaticSite;
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    await ensureSite();
    site = await serveStatic(SITE);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('routes as you type, generates token by token with weights that sum to 1, and saves a screenshot', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${site.url}/demo.html`, { waitUntil: 'load' });
    const demo = page.getByTestId('demo');
    // Loading finishes: tokenizer, embedder, centroids and every expert are in, a backend runs.
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="demo"]')?.getAttribute('data-state') !== 'loading',
      null,
      { timeout: 60_000 },
    );
    expect(await demo.getAttribute('data-state'), errors.join('\n')).not.toBe('error');
    const backend = await page.getByTestId('backend').textContent();
    expect(['wasm', 'webgl', 'cpu']).toContain(backend);

    // Type a prompt: the bars follow the text before any generation starts.
    const prompt = page.getByTestId('prompt');
    await prompt.fill('');
    await prompt.pressSequentially('The open system call returns a file descriptor ', { delay: 5 });
    // Generation starts when typing pauses; wait for generated tokens.
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector('[data-testid="output"]')?.getAttribute('data-tokens') ?? 0,
        ) >= 8,
      null,
      { timeout: 90_000 },
    );
    const tokens = await page.getByTestId('token').allTextContents();
    expect(tokens.length).toBeGreaterThanOrEqual(8);
    expect(tokens.join('').length).toBeGreaterThan(0);

    // Every bar carries its weight: active experts' weights sum to 1, inactive ones are 0.
    const bars = await page.getByTestId('expert-bar').evaluateAll((els) =>
      els.map((e) => ({
        expert: Number(e.getAttribute('data-expert')),
        weight: Number(e.getAttribute('data-weight')),
        active: e.getAttribute('data-active') === 'true',
      })),
    );
    const k = bars.length;
    expect(k).toBeGreaterThan(1);
    const sum = bars.reduce((s, b) => s + b.weight, 0);
    expect(sum).toBeCloseTo(1, 6);
    for (const b of bars) {
      expect(b.weight).toBeGreaterThanOrEqual(0);
      if (!b.active) expect(b.weight).toBe(0);
    }
    // Each token is colored by a real expert.
    const tokenExperts = await page
      .getByTestId('token')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-expert'))));
    for (const j of tokenExperts) expect(j >= 0 && j < k).toBe(true);

    // The whole continuation, for the screenshot.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="demo"]')?.getAttribute('data-state') === 'ready',
      null,
      {
        timeout: 90_000,
      },
    );
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });

    // top-k = 1: exactly one active expert with weight 1.
    await page.getByTestId('top-k').selectOption('1');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-testid="expert-bar"][data-active="true"]').length === 1,
    );
    const one = await page
      .locator('[data-testid="expert-bar"][data-active="true"]')
      .getAttribute('data-weight');
    expect(Number(one)).toBe(1);

    expect(errors).toEqual([]);
    await page.close();
  });
});
