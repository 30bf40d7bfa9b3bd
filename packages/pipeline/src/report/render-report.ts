import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { methodLabel } from '../results.js';
import type { ReportData } from './report-data.js';

let echartsSource: string | undefined;

/** The minified ECharts bundle, inlined so the report needs no network. */
function echartsScript(): string {
  if (echartsSource === undefined) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsSource;
}

/** JSON that is safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * The ids of the charts a report draws, in page order.
 *
 * @example
 * ```ts
 * REPORT_CHART_IDS.includes('chart-loss-curves'); // true
 * ```
 */
export const REPORT_CHART_IDS = [
  'chart-cluster-sizes',
  'chart-embedding-map',
  'chart-domain-cluster',
  'chart-loss-curves',
  'chart-perplexity',
] as const;

function resultsTableHtml(data: ReportData): string {
  const r = data.results;
  if (!r) return '<p class="missing">No evaluation yet: run <code>cbtm eval</code>.</p>';
  const dense = r.methods.dense;
  const rows = Object.entries(r.methods)
    .map(([name, m]) => {
      const delta =
        dense && name !== 'dense'
          ? `${(((m.perplexity - dense.perplexity) / dense.perplexity) * 100).toFixed(1)}%`
          : '';
      return `<tr><td>${escapeHtml(methodLabel(name))}</td><td>${m.perplexity.toFixed(2)}</td><td>${delta}</td><td>${m.expertsPerDocument.toFixed(1)}</td></tr>`;
    })
    .join('');
  const c = r.clusters;
  const quality = c
    ? `<p>k = ${c.k}; cluster purity <b>${c.purity?.toFixed(3) ?? 'n/a'}</b>, NMI <b>${c.nmi?.toFixed(3) ?? 'n/a'}</b> against the domain labels.</p>`
    : '';
  return `<table class="results"><thead><tr><th>method</th><th>perplexity</th><th>vs dense</th><th>experts/doc</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">Validation corpus: ${escapeHtml(r.corpus.name ?? 'n/a')} (${r.corpus.documents} documents, ${r.tokens} tokens); routing temperature T = ${r.temperature}; backend ${escapeHtml(r.backend)}.</p>${quality}`;
}

/** The top terms of each cluster, one row per cluster; nothing without them. */
function topTermsHtml(data: ReportData): string {
  if (!data.topTerms || data.topTerms.length === 0) return '';
  const rows = data.topTerms
    .map((terms, j) => `<tr><td>${j}</td><td>${terms.map(escapeHtml).join(', ')}</td></tr>`)
    .join('');
  return `<section id="top-terms"><h2>Top terms per cluster</h2>
  <p class="note">Each centroid mapped back through the SVD to the tf-idf vocabulary, largest weight first.</p>
  <table class="results"><thead><tr><th>cluster</th><th>terms</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

const CHART_CODE = `
(function () {
  var D = window.CBTM_REPORT;
  window.cbtmCharts = {};
  var palette = ['#5470c6','#91cc75','#fac858','#ee6666','#73c0de','#3ba272','#fc8452','#9a60b4','#ea7ccc','#2f4554','#61a0a8','#d48265'];
  function missing(id, text) {
    var el = document.getElementById(id);
    el.classList.add('missing');
    el.textContent = text;
    window.cbtmCharts[id] = 'missing';
  }
  function draw(id, option) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    window.cbtmCharts[id] = 'pending';
    chart.on('finished', function () { window.cbtmCharts[id] = 'rendered'; });
    chart.setOption(Object.assign({ animation: false, color: palette }, option));
    window.addEventListener('resize', function () { chart.resize(); });
    return chart;
  }

  if (D.clusterSizes) {
    draw('chart-cluster-sizes', {
      tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, top: 30, bottom: 40 },
      xAxis: { type: 'category', name: 'cluster', nameLocation: 'middle', nameGap: 26, data: D.clusterSizes.map(function (_, j) { return String(j); }) },
      yAxis: { type: 'value', name: 'documents' },
      series: [{ type: 'bar', data: D.clusterSizes, label: { show: true, position: 'top' },
        itemStyle: { color: function (p) { return palette[p.dataIndex % palette.length]; } } }]
    });
  } else missing('chart-cluster-sizes', 'No clusters yet: run cbtm cluster.');

  if (D.embeddingMap && D.embeddingMap.points.length) {
    var m = D.embeddingMap;
    var k = 0;
    m.points.forEach(function (p) { k = Math.max(k, p[2] + 1); });
    var series = [];
    for (var j = 0; j < k; j++) {
      series.push({ name: 'cluster ' + j, type: 'scatter', symbolSize: 6,
        data: m.points.filter(function (p) { return p[2] === j; }).map(function (p) {
          return { value: [p[0], p[1]], domain: p[3] >= 0 ? m.domains[p[3]] : '(none)', id: p[4], cluster: j };
        }) });
    }
    draw('chart-embedding-map', {
      tooltip: { trigger: 'item', formatter: function (p) {
        return 'domain: <b>' + p.data.domain + '</b><br>cluster ' + p.data.cluster + '<br>' + p.data.id; } },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'value', name: 'component 1', nameLocation: 'middle', nameGap: 26, scale: true },
      yAxis: { type: 'value', name: 'component 2', scale: true },
      series: series
    });
  } else missing('chart-embedding-map', 'No embeddings yet: run cbtm cluster.');

  if (D.contingency && D.clusterSizes) {
    var c = D.contingency, cells = [], max = 0;
    c.counts.forEach(function (row, i) { row.forEach(function (v, j) { cells.push([j, i, v]); max = Math.max(max, v); }); });
    draw('chart-domain-cluster', {
      tooltip: { formatter: function (p) { return c.domains[p.value[1]] + ' → cluster ' + p.value[0] + ': ' + p.value[2] + ' documents'; } },
      grid: { left: 110, right: 30, top: 20, bottom: 90 },
      xAxis: { type: 'category', name: 'cluster', nameLocation: 'middle', nameGap: 26, data: c.counts[0].map(function (_, j) { return String(j); }), splitArea: { show: true } },
      yAxis: { type: 'category', data: c.domains, splitArea: { show: true } },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ type: 'heatmap', data: cells, label: { show: true } }]
    });
  } else missing('chart-domain-cluster', 'No domain labels or clusters to compare.');

  if (D.lossCurves.length) {
    var lines = [], selected = {};
    D.lossCurves.forEach(function (curve, i) {
      var color = curve.group === 'dense' ? '#000000' : curve.group === 'seed' ? '#888888' : palette[i % palette.length];
      var dashed = curve.group === 'random';
      lines.push({ name: curve.name + ' train', type: 'line', showSymbol: false, data: curve.train,
        lineStyle: { width: 1.5, color: color, type: dashed ? 'dotted' : 'solid' }, itemStyle: { color: color } });
      if (curve.valid.length) lines.push({ name: curve.name + ' valid', type: 'line', symbol: 'circle', symbolSize: 5, data: curve.valid,
        lineStyle: { width: 2, type: 'dashed', color: color }, itemStyle: { color: color } });
      if (curve.group === 'random') {
        selected[curve.name + ' train'] = false; selected[curve.name + ' valid'] = false;
      }
    });
    draw('chart-loss-curves', {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0, selected: selected },
      grid: { left: 60, right: 30, top: 50, bottom: 50 },
      xAxis: { type: 'value', name: 'tokens seen', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: 'loss (nats/token)', scale: true },
      dataZoom: [{ type: 'inside' }],
      series: lines
    });
  } else missing('chart-loss-curves', 'No training logs yet: run cbtm train.');

  var methodNames = D.results ? Object.keys(D.results.methods) : [];
  if (methodNames.length) {
    var methods = methodNames.map(function (name) { return Object.assign({ label: D.methodLabels[name] || name }, D.results.methods[name]); });
    var domains = [];
    methods.forEach(function (mm) { Object.keys(mm.perDomain).forEach(function (d) { if (domains.indexOf(d) < 0) domains.push(d); }); });
    domains.sort();
    var cats = ['all'].concat(domains);
    draw('chart-perplexity', {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: cats },
      yAxis: { type: 'value', name: 'perplexity' },
      series: methods.map(function (mm) {
        return { name: mm.label, type: 'bar', data: cats.map(function (d) {
          var v = d === 'all' ? mm.perplexity : (mm.perDomain[d] ? mm.perDomain[d].perplexity : null);
          return v === null ? null : Math.round(v * 100) / 100; }) };
      })
    });
  } else missing('chart-perplexity', 'No evaluation yet: run cbtm eval.');
})();
`;

/**
 * Renders the run report as one self-contained HTML page: ECharts and the data are inlined, so it
 * opens offline. Each chart sets `window.cbtmCharts[id]` to `'rendered'` once drawn (or
 * `'missing'` when its data is absent), which the browser test checks.
 *
 * @example
 * ```ts
 * await writeFileAtomic(run.path('report.html'), renderReportHtml(data));
 * ```
 */
export function renderReportHtml(data: ReportData): string {
  const config = JSON.stringify(data.config, null, 2);
  const stages = data.stages
    .map((s) => `<li><code>${escapeHtml(s.name)}</code> finished ${escapeHtml(s.completedAt)}</li>`)
    .join('');
  const map = data.embeddingMap;
  const methodLabels = Object.fromEntries(
    Object.keys(data.results?.methods ?? {}).map((n) => [n, methodLabel(n)]),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fafafa; }
  header { background: #1f2d3d; color: #fff; padding: 16px 32px; }
  header h1 { margin: 0; font-size: 22px; }
  header p { margin: 4px 0 0; opacity: .8; }
  main { max-width: 1200px; margin: 0 auto; padding: 16px 32px 48px; }
  section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 20px; margin: 16px 0; }
  h2 { font-size: 17px; margin: 4px 0 8px; }
  .chart { width: 100%; height: 380px; }
  .chart.tall { height: 520px; }
  .missing { display: flex; align-items: center; justify-content: center; color: #888; height: 80px !important; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  @media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
  table.results { border-collapse: collapse; }
  table.results th, table.results td { padding: 4px 14px; border-bottom: 1px solid #eee; text-align: right; }
  table.results th:first-child, table.results td:first-child { text-align: left; }
  pre { background: #f4f4f4; padding: 12px; overflow: auto; max-height: 420px; }
  .note { color: #666; font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>${escapeHtml(data.title)}</h1>
  <p>${escapeHtml(data.runDir)} · generated ${escapeHtml(data.generatedAt)} · backend ${escapeHtml(data.backend ?? 'n/a')}</p>
</header>
<main>
<section id="results"><h2>Results</h2>${resultsTableHtml(data)}</section>
<div class="grid">
  <section><h2>Cluster sizes</h2><div id="chart-cluster-sizes" class="chart"></div></section>
  <section><h2>Domain × cluster</h2><div id="chart-domain-cluster" class="chart"></div></section>
</div>
${topTermsHtml(data)}
<section><h2>Document embeddings</h2>
  <p class="note">${map ? `${escapeHtml(map.method)}; ${map.points.length} of ${map.total} documents; colored by cluster, domain on hover.` : ''}</p>
  <div id="chart-embedding-map" class="chart tall"></div></section>
<section><h2>Training and validation loss</h2>
  <p class="note">Solid: training loss; dashed with dots: validation loss (each model on text held out of its own training data). Models branched from the seed (grey) start where it ended. Random-cluster experts are hidden; click the legend to show or hide a model.</p>
  <div id="chart-loss-curves" class="chart tall"></div></section>
<section><h2>Perplexity per domain and method</h2><div id="chart-perplexity" class="chart"></div></section>
<section id="config"><h2>Config and backend</h2>
  <p>Backend: <b>${escapeHtml(data.backend ?? 'n/a')}</b></p>
  <pre>${escapeHtml(config ?? 'null')}</pre>
  <h2>Stages</h2><ul>${stages}</ul>
</section>
</main>
<script>${echartsScript()}</script>
<script>window.CBTM_REPORT = ${scriptJson({ ...data, methodLabels })};</script>
<script>${CHART_CODE}</script>
</body>
</html>
`;
}
