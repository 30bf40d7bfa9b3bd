import type { ProgressEvent } from '@cbtm/core';

/** `train expert-2`, or just `embed`. */
export function progressLabel(event: Pick<ProgressEvent, 'stage' | 'task'>): string {
  return event.task ? `${event.stage} ${event.task}` : event.stage;
}

/** Compact number: 1234 → 1234, 45678 → 45.7k, 2.5e6 → 2.50M. */
export function compactNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (Number.isInteger(n)) return String(n);
  return abs >= 100 ? n.toFixed(0) : abs >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** Short names for metrics that stages report, so a bar's line stays short. */
const METRIC_NAMES: Readonly<Record<string, string>> = {
  tokensPerSecond: 'tok/s',
  valLoss: 'val',
};

/** `loss=3.21 tok/s=2.1k`. */
export function formatMetrics(metrics: ProgressEvent['metrics']): string {
  if (!metrics) return '';
  return Object.entries(metrics)
    .filter(([, v]) => Number.isFinite(v))
    .map(([k, v]) => `${METRIC_NAMES[k] ?? k}=${compactNumber(v)}`)
    .join(' ');
}

/** `1.2s`, `3m05s`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

/** `1200/5000 tokens (24%)` or `1200 tokens`. */
export function formatCount(event: Pick<ProgressEvent, 'done' | 'total' | 'unit'>): string {
  const unit = event.unit ? ` ${event.unit}` : '';
  if (event.total === undefined || event.total <= 0) return `${compactNumber(event.done)}${unit}`;
  const pct = Math.min(100, Math.floor((100 * event.done) / event.total));
  return `${compactNumber(event.done)}/${compactNumber(event.total)}${unit} (${pct}%)`;
}
