import { describe, expect, it } from 'vitest';
import { PerplexityAccumulator, perplexity } from './perplexity.js';

describe('perplexity', () => {
  it('is exp of the mean negative log-likelihood', () => {
    expect(perplexity([Math.log(0.5), Math.log(0.125)])).toBeCloseTo(4, 12);
    const lps = [-0.3, -2.1, -0.01, -5.5, -1.2];
    const meanNll = -lps.reduce((a, b) => a + b, 0) / lps.length;
    expect(perplexity(lps)).toBeCloseTo(Math.exp(meanNll), 12);
    expect(() => perplexity([])).toThrow(/at least one/);
  });

  it('accumulates token-weighted overall and per-domain totals', () => {
    const acc = new PerplexityAccumulator();
    acc.add([Math.log(0.5)], 'a');
    acc.add([Math.log(0.25), Math.log(0.25), Math.log(0.25)], 'b');
    acc.add([Math.log(0.5)]);
    const all = acc.overall();
    expect(all.tokens).toBe(5);
    // Token-weighted: NLL = (ln2 + 3 ln4 + ln2)/5 = 8 ln2 / 5.
    expect(all.nll).toBeCloseTo((8 * Math.LN2) / 5, 12);
    expect(all.perplexity).toBeCloseTo(2 ** (8 / 5), 12);
    const dom = acc.perDomain();
    expect(Object.keys(dom)).toEqual(['a', 'b']);
    expect(dom.a!.perplexity).toBeCloseTo(2, 12);
    expect(dom.b).toMatchObject({ tokens: 3 });
    expect(dom.b!.perplexity).toBeCloseTo(4, 12);
  });
});
