import { describe, expect, it } from 'vitest';
import { sampleReportData } from '../test-utils/sample-report.js';
import { REPORT_CHART_IDS, renderReportHtml } from './render-report.js';

describe('renderReportHtml', () => {
  const html = renderReportHtml(sampleReportData());

  it('is one self-contained page: ECharts inlined, no external scripts or styles', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('echarts');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org|json-schema\.org)[^\s"')]+\.(js|css)\b/);
  });

  it('has a container for every chart', () => {
    for (const id of REPORT_CHART_IDS) expect(html).toContain(`id="${id}"`);
  });

  it('escapes data so nothing closes the script element', () => {
    // Only the three real </script> tags close elements.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('\\u003c/script\\u003e\\u003cb\\u003ex');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('shows the measured numbers in the results table', () => {
    expect(html).toContain('<td>c-BTM top-1</td><td>15.00</td><td>-25.0%</td><td>1.5</td>');
    expect(html).toContain('purity <b>0.750</b>, NMI <b>0.500</b>');
  });

  it('lists each cluster’s top terms, escaped, and leaves the section out without them', () => {
    const withTerms = renderReportHtml({
      ...sampleReportData(),
      topTerms: [
        ['court', 'contract'],
        ['cat', '<b>dog'],
      ],
    });
    expect(withTerms).toContain('<tr><td>0</td><td>court, contract</td></tr>');
    expect(withTerms).toContain('<tr><td>1</td><td>cat, &lt;b&gt;dog</td></tr>');
    expect(html).not.toContain('id="top-terms"');
  });
});
