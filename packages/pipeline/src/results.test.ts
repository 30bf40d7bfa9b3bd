import { describe, expect, it } from 'vitest';
import { formatResultsTable, methodLabel } from './results.js';
import { sampleReportData } from './test-utils/sample-report.js';

describe('formatResultsTable', () => {
  it('prints each measured perplexity, the change against dense, cluster quality and the report path', () => {
    const results = sampleReportData().results!;
    expect(formatResultsTable(results, { report: '/runs/x/report.html' })).toBe(
      [
        'Perplexity on valid.jsonl: 3 documents, 30 tokens (backend wasm, routing T = 0.1):',
        '  method        perplexity   vs dense   experts/doc',
        '  ───────────   ──────────   ────────   ───────────',
        '  dense              20.00                      1.0',
        '  c-BTM top-1        15.00     -25.0%           1.5',
        '',
        'Clusters: k = 2, sizes 2 / 2; purity 0.750, NMI 0.500 against the domain labels.',
        '',
        'Report: /runs/x/report.html',
        '',
      ].join('\n'),
    );
  });

  it('labels methods for people', () => {
    expect(
      ['dense', 'cbtm-top1', 'cbtm-top2', 'cbtm-all', 'random', 'expert-0'].map(methodLabel),
    ).toEqual(['dense', 'c-BTM top-1', 'c-BTM top-2', 'c-BTM all', 'random clusters', 'expert-0']);
  });
});
