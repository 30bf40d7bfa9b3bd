import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CHROMIUM, describeWithProgram } from '@cbtm/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSite } from './test-utils/build-site.js';
import { launchChromium } from './test-utils/chromium.js';
import { SITE, SITE_PACKAGES as sitePackages } from './test-utils/paths.js';
import { type StaticSite, serveStatic } from './test-utils/static-server.js';

async function htmlPages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.html') || entry.name === '404.html') continue;
    const rel = relative(SITE, join(entry.parentPath, entry.name)).split(sep).join('/');
    out.push(`/${rel}`);
  }
  return out.sort();
}

interface PageReport {
  errors: string[];
  links: string[];
}

/** Opens `path`, collecting console errors, page errors, failed requests and internal links. */
async function visit(page: Page, site: StaticSite, path: string): Promise<PageReport> {
  const errors: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  };
  const onPageError = (e: Error) => errors.push(`pageerror: ${e.message}`);
  const onFailed = (r: { url(): string; failure(): { errorText: string } | null }) => {
    // VitePress prefetches linked pages' chunks; leaving the page aborts those fetches. A missing
    // file is an HTTP 404 instead, caught below and in the server's list of misses.
    const reason = r.failure()?.errorText ?? '';
    if (reason !== 'net::ERR_ABORTED') errors.push(`request failed: ${r.url()} ${reason}`);
  };
  const onResponse = (r: { url(): string; status(): number }) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  };
  page.on('console', onConsole);
  page.on('pageerror', onPageError);
  page.on('requestfailed', onFailed);
  page.on('response', onResponse);
  try {
    await page.goto(site.url + path, { waitUntil: 'networkidle' });
    const links = await page.$$eval('a[href]', (as) =>
      as.map((a) => (a as HTMLAnchorElement).href),
    );
    return { errors, links: links.filter((l) => l.startsWith(site.url)) };
  } finally {
    page.off('console', onConsole);
    page.off('pageerror', onPageError);
    page.off('requestfailed', onFailed);
    page.off('response', onResponse);
  }
}

describeWithProgram(CHROMIUM, 'the built docs site in Chromium', () => {
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

  it('has every page load with no console error, and no broken internal link or anchor', async () => {
    const pages = await htmlPages(SITE);
    // The pages the issue asks for must all be there.
    for (const required of [
      '/index.html',
      '/getting-started.html',
      '/concepts.html',
      '/cli.html',
      '/scaling-out.html',
      '/results.html',
      '/demo.html',
      '/examples.html',
      '/packages/index.html',
      ...sitePackages.map((p) => `/packages/${p}.html`),
    ]) {
      expect(pages).toContain(required);
    }

    const problems: string[] = [];
    const links = new Map<string, string>(); // link -> first page that has it
    // A few tabs at once: each page waits for network idle, which is mostly idle time.
    const queue = [...pages];
    const reports = new Map<string, PageReport>();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const tab = await browser.context.newPage();
        for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
          reports.set(path, await visit(tab, site, path));
        }
        await tab.close();
      }),
    );
    for (const path of pages) {
      const report = reports.get(path)!;
      for (const e of report.errors) problems.push(`${path}: ${e}`);
      for (const l of report.links) if (!links.has(l)) links.set(l, path);
    }
    const page = await browser.context.newPage();
    expect(links.size).toBeGreaterThan(20);

    // Every internal link resolves, and every #anchor exists on its target page.
    const anchorsByPage = new Map<string, Set<string>>();
    for (const [link, from] of links) {
      const url = new URL(link);
      const res = await fetch(`${site.url}${url.pathname}`);
      if (res.status !== 200) {
        problems.push(`${from}: broken link ${url.pathname} (HTTP ${res.status})`);
        continue;
      }
      if (!url.hash || url.hash === '#') continue;
      if (!(res.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      let ids = anchorsByPage.get(url.pathname);
      if (!ids) {
        await page.goto(`${site.url}${url.pathname}`, { waitUntil: 'load' });
        ids = new Set(await page.$$eval('[id]', (els) => els.map((e) => e.id)));
        anchorsByPage.set(url.pathname, ids);
      }
      const id = decodeURIComponent(url.hash.slice(1));
      if (!ids.has(id)) problems.push(`${from}: broken anchor ${url.pathname}${url.hash}`);
    }
    await page.close();
    expect(problems).toEqual([]);
    expect(site.misses).toEqual([]);
  });
});
