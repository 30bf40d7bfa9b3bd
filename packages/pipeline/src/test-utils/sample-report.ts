import type { ReportData } from '../report/report-data.js';
import type { EvalResults } from '../results.js';

const stats = (perplexity: number, tokens: number) => ({
  perplexity,
  nll: Math.log(perplexity),
  tokens,
});

const results: EvalResults = {
  format: 'cbtm-eval',
  version: 1,
  createdAt: '2025-01-01T00:00:00.000Z',
  backend: 'wasm',
  corpus: { name: 'valid.jsonl', documents: 3, domains: ['a', 'b'] },
  tokens: 30,
  temperature: 0.1,
  config: {},
  clusters: { k: 2, purity: 0.75, nmi: 0.5, sizes: [2, 2] },
  methods: {
    dense: {
      ...stats(20, 30),
      method: { kind: 'dense' },
      expertsPerDocument: 1,
      perDomain: { a: stats(18, 10), b: stats(21, 20) },
    },
    'cbtm-top1': {
      ...stats(15, 30),
      method: { kind: 'cbtm', topK: 1 },
      expertsPerDocument: 1.5,
      perDomain: { a: stats(12, 10), b: stats(16.7, 20) },
    },
  },
};

/** A small hand-made report, including a document id that tries to close the script tag. */
export function sampleReportData(): ReportData {
  return {
    title: 'cbtm run report',
    runDir: '/tmp/run',
    generatedAt: '2025-01-01T00:00:00.000Z',
    config: { cluster: { k: 2 }, note: '</script><script>alert(1)</script>' },
    backend: 'wasm',
    clusterSizes: [2, 2],
    contingency: {
      domains: ['a', 'b'],
      counts: [
        [2, 0],
        [0, 2],
      ],
    },
    embeddingMap: {
      method: 'first two principal components',
      domains: ['a', 'b'],
      total: 4,
      points: [
        [0, 0, 0, 0, 'd1'],
        [0.1, 0.2, 0, 0, '</script><b>x'],
        [1, 1, 1, 1, 'd3'],
        [1.2, 0.9, 1, 1, 'd4'],
      ],
    },
    lossCurves: [
      {
        name: 'expert 0',
        group: 'expert',
        train: [
          [0, 7],
          [100, 5],
        ],
        valid: [[100, 5.5]],
      },
      {
        name: 'dense',
        group: 'dense',
        train: [
          [0, 7],
          [200, 4.5],
        ],
        valid: [[200, 5]],
      },
    ],
    results,
    stages: [{ name: 'embed', completedAt: '2025-01-01T00:00:00.000Z' }],
  };
}
