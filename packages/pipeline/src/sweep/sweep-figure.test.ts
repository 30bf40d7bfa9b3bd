import { describe, expect, it } from 'vitest';
import { renderSweepHtml, renderSweepSvg } from './sweep-figure.js';
import type { SweepPointResult, SweepResults } from './sweep-results.js';

const point = (k: number, tokens: number, all: number): SweepPointResult => ({
  name: `k${k}-t${tokens}`,
  k,
  tokens,
  run: `k${k}-t${tokens}`,
  experts: k,
  perplexity: { all, top1: all * 1.05 },
  perDomain: { all: { bible: all } },
  training: { seconds: 10, tokens, tokensPerSecond: tokens / 10, resumed: false, completedAt: 'x' },
});

const results: SweepResults = {
  format: 'cbtm-sweep-results',
  version: 1,
  createdAt: '2026-12-05T00:00:00.000Z',
  grid: { k: [1, 4], tokens: [250_000, 1_000_000], topK: [1, 'all'], plot: 'all' },
  seed: { dir: 'seed/seed', tokens: 250_000, training: null },
  validation: { name: 'demo valid', documents: 10, tokens: 2000, domains: ['bible'] },
  points: [
    point(1, 250_000, 190),
    point(1, 1_000_000, 100),
    point(4, 250_000, 185),
    point(4, 1_000_000, 90),
  ],
};

describe('sweep figure', () => {
  it('draws one line per k on log axes, k = 1 as dense, the lowest perplexity lowest', () => {
    const svg = renderSweepSvg(results);
    expect(svg).toContain('k = 1 (dense)');
    expect(svg).toContain('k = 4');
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('>250k<');
    expect(svg).toContain('>1M<');
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    // Points in order k1 250k, k1 1M, k4 250k, k4 1M: y grows downwards as perplexity falls.
    expect(ys[3]).toBeGreaterThan(ys[1]!);
    expect(ys[2]).toBeGreaterThan(ys[0]!);
  });

  it('says so when nothing is evaluated yet', () => {
    expect(renderSweepSvg({ ...results, points: [] })).toContain('No evaluated grid point');
  });

  it('puts a figure per top-k setting and the change against dense in the page', () => {
    const html = renderSweepHtml(results);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('-10.0%'); // k = 4 at 1M: 90 vs 100
    expect(html).toContain('1 (dense)');
  });
});
