import type { TopK } from '../config/schema.js';
import { type SweepResults, topKLabel } from './sweep-results.js';

const PALETTE = ['#222222', '#5470c6', '#ee6666', '#3ba272', '#fc8452', '#9a60b4', '#73c0de'];

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** `250k`, `1.5M`. */
function compact(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+n.toPrecision(3)}`;
}

/** Ticks 1, 2, 5 × 10^e inside [lo, hi], or evenly spaced round numbers when that gives fewer than 4. */
function logTicks(lo: number, hi: number): number[] {
  const pick = (mantissas: readonly number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const v = m * 10 ** e;
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  };
  const coarse = pick([1, 2, 5]);
  if (coarse.length >= 4) return coarse;
  // A narrow range (perplexities 110–200): evenly spaced round numbers read better.
  const raw = (hi - lo) / 6;
  const unit = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * unit).find((v) => v >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(+v.toPrecision(12));
  return out;
}

/** A log-scale range around the values, padded so no point sits on the frame. */
function logRange(values: readonly number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi / lo < 1.5 ? 1.25 : 1.08;
  return [lo / pad, hi * pad];
}

/**
 * The paper-style figure of a sweep as a self-contained SVG: validation perplexity (log y)
 * against training tokens after the seed (log x), one line per k, k = 1 labelled dense.
 *
 * @example
 * ```ts
 * await writeFile('runs/sweep/sweep-figure.svg', renderSweepSvg(results, 'all'));
 * ```
 */
export function renderSweepSvg(results: SweepResults, topK: TopK = results.grid.plot): string {
  const key = topKLabel(topK);
  const width = 640;
  const height = 420;
  const m = { left: 64, right: 150, top: 40, bottom: 52 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const ks = [...new Set(results.points.map((p) => p.k))].sort((a, b) => a - b);
  const lines = ks.map((k) => ({
    k,
    points: results.points
      .filter((p) => p.k === k && Number.isFinite(p.perplexity[key]))
      .map((p) => ({ x: p.tokens, y: p.perplexity[key]! }))
      .sort((a, b) => a.x - b.x),
  }));
  const all = lines.flatMap((l) => l.points);
  const title = `Validation perplexity, c-BTM ${key === 'all' ? 'all experts' : key.replace('top', 'top-')}`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
  ];
  if (all.length === 0) {
    out.push(`<text x="${m.left}" y="${m.top + 40}">No evaluated grid point yet.</text>`, '</svg>');
    return out.join('\n');
  }
  const [x0, x1] = logRange(all.map((p) => p.x));
  const [y0, y1] = logRange(all.map((p) => p.y));
  const sx = (x: number) => m.left + ((Math.log(x) - Math.log(x0)) / Math.log(x1 / x0)) * plotW;
  const sy = (y: number) =>
    m.top + plotH - ((Math.log(y) - Math.log(y0)) / Math.log(y1 / y0)) * plotH;
  const f = (n: number) => n.toFixed(1);
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  // The budgets themselves are the x ticks: the grid is what the reader compares.
  for (const t of [...new Set(all.map((p) => p.x))]) {
    out.push(
      `<line x1="${f(sx(t))}" y1="${m.top}" x2="${f(sx(t))}" y2="${m.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(sx(t))}" y="${m.top + plotH + 16}" text-anchor="middle">${compact(t)}</text>`,
    );
  }
  for (const t of logTicks(y0, y1)) {
    out.push(
      `<line x1="${m.left}" y1="${f(sy(t))}" x2="${m.left + plotW}" y2="${f(sy(t))}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${compact(t)}</text>`,
    );
  }
  out.push(
    `<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">training tokens after the seed (log scale)</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">validation perplexity (log scale)</text>`,
  );
  lines.forEach((line, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const label = line.k === 1 ? 'k = 1 (dense)' : `k = ${line.k}`;
    const dash = line.k === 1 ? ' stroke-dasharray="6 4"' : '';
    if (line.points.length > 1) {
      const d = line.points.map((p, j) => `${j ? 'L' : 'M'}${f(sx(p.x))},${f(sy(p.y))}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    for (const p of line.points) {
      out.push(
        `<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${color}"><title>${escapeXml(`${label}, ${compact(p.x)} tokens: ${p.y.toFixed(2)}`)}</title></circle>`,
      );
    }
    const ly = m.top + 14 + i * 20;
    const lx = m.left + plotW + 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

function cell(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

/**
 * `sweep-report.html`: one self-contained page with a figure per reported top-k setting and
 * a table of every grid point (perplexity, change against dense at the same budget, training
 * seconds and tokens/s).
 *
 * @example
 * ```ts
 * await writeFile('runs/sweep/sweep-report.html', renderSweepHtml(results));
 * ```
 */
export function renderSweepHtml(results: SweepResults): string {
  const settings = [
    results.grid.plot,
    ...results.grid.topK.filter((t) => topKLabel(t) !== topKLabel(results.grid.plot)),
  ];
  const keys = settings.map(topKLabel);
  const dense = (tokens: number, key: string) =>
    results.points.find((p) => p.k === 1 && p.tokens === tokens)?.perplexity[key];
  const rows = results.points
    .map((p) => {
      const cells = keys.flatMap((key) => {
        const ppl = p.perplexity[key];
        const d = p.k === 1 ? undefined : dense(p.tokens, key);
        const delta =
          ppl !== undefined && d !== undefined
            ? `${ppl > d ? '+' : ''}${cell((100 * (ppl - d)) / d, 1)}%`
            : '';
        return [`<td>${cell(ppl)}</td>`, `<td>${delta}</td>`];
      });
      return `<tr><td>${p.k === 1 ? '1 (dense)' : p.k}</td><td>${p.tokens.toLocaleString('en-US')}</td>${cells.join('')}<td>${cell(p.training.seconds, 1)}</td><td>${cell(p.training.tokensPerSecond, 0)}</td></tr>`;
    })
    .join('\n');
  const head = keys.map((k) => `<th>${k}</th><th>vs dense</th>`).join('');
  const seed = results.seedRatio
    ? `The runs of each budget branch from a seed model of their own, trained on ${results.seedRatio} × the budget (${results.points
        .filter((p, i, all) => p.seed && all.findIndex((q) => q.tokens === p.tokens) === i)
        .map(
          (p) =>
            `${p.seed!.tokens.toLocaleString('en-US')} tokens before ${p.tokens.toLocaleString('en-US')}`,
        )
        .join('; ')}).`
    : results.seed
      ? `Every run branches from one seed model trained on ${results.seed.tokens.toLocaleString('en-US')} tokens (${escapeXml(results.seed.dir)}).`
      : 'Every model starts from scratch (no seed).';
  const v = results.validation;
  const valid = v
    ? `Validation corpus: ${escapeXml(v.name ?? 'n/a')}, ${v.documents} documents, ${v.tokens.toLocaleString('en-US')} tokens.`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cbtm sweep</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}figure{margin:1rem 0}</style>
</head><body>
<h1>cbtm sweep: perplexity against training tokens</h1>
<p>${seed} ${valid} k = 1 is the dense model (one expert on everything, the same tokens).</p>
${settings.map((t) => `<figure>${renderSweepSvg(results, t)}</figure>`).join('\n')}
<table><thead><tr><th>k</th><th>tokens after seed</th>${head}<th>train s</th><th>tokens/s</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Generated ${escapeXml(results.createdAt)} from sweep-results.json.</p>
</body></html>
`;
}
