import type { ProgressCallback, ProgressEvent } from '@cbtm/core';
import cliProgress from 'cli-progress';
import {
  compactNumber,
  formatCount,
  formatDuration,
  formatMetrics,
  progressLabel,
} from './format-progress.js';

/**
 * Draws progress events and log lines on a terminal, or as plain lines in CI.
 *
 * @example
 * ```ts
 * const r: ProgressRenderer = createProgressRenderer({ tty: false });
 * r.log('hello');
 * ```
 */
export interface ProgressRenderer {
  /** Feed every progress event here. */
  readonly onProgress: ProgressCallback;
  /** Prints a line above the bars (or as is, in plain mode). */
  log(line: string): void;
  /** Finishes drawing; call once at the end (also after an error). */
  stop(): void;
}

/**
 * Options of {@link createProgressRenderer}.
 *
 * @example
 * ```ts
 * createProgressRenderer({ stream: process.stderr, tty: false, plainIntervalMs: 5000 });
 * ```
 */
export interface ProgressRendererOptions {
  /** Where to draw. @default process.stderr */
  readonly stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Bars (true) or plain lines (false). @default stream.isTTY && process.stdout.isTTY */
  readonly tty?: boolean;
  /** Plain mode prints a running task at most this often (plus every 10%). @default 10000 */
  readonly plainIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Default options of {@link createProgressRenderer}.
 *
 * @example
 * ```ts
 * createProgressRenderer({ ...defaultProgressRendererOptions, tty: false });
 * ```
 */
export const defaultProgressRendererOptions = {
  plainIntervalMs: 10_000,
} as const satisfies ProgressRendererOptions;

interface TaskState {
  startedAt: number;
  lastPrintAt: number;
  lastBucket: number;
  finished: boolean;
}

/**
 * A renderer for the shared progress events: one cli-progress bar per stage and per task (one
 * per expert while experts train in parallel) on a terminal, and throttled plain lines when
 * output is not a TTY (CI logs).
 *
 * @example
 * ```ts
 * const renderer = createProgressRenderer();
 * try { await runPipeline(config, { onProgress: renderer.onProgress }); } finally { renderer.stop(); }
 * ```
 */
export function createProgressRenderer(options: ProgressRendererOptions = {}): ProgressRenderer {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean((stream as NodeJS.WriteStream).isTTY && process.stdout.isTTY);
  return tty
    ? createBarRenderer(stream as NodeJS.WriteStream)
    : createPlainRenderer(stream, options);
}

function createPlainRenderer(
  stream: NodeJS.WritableStream,
  options: ProgressRendererOptions,
): ProgressRenderer {
  const now = options.now ?? Date.now;
  const interval = options.plainIntervalMs ?? defaultProgressRendererOptions.plainIntervalMs;
  const tasks = new Map<string, TaskState>();
  const write = (line: string) => stream.write(`${line}\n`);
  const stateOf = (key: string, t: number): TaskState => {
    let state = tasks.get(key);
    if (!state) {
      state = { startedAt: t, lastPrintAt: t, lastBucket: 0, finished: false };
      tasks.set(key, state);
    }
    return state;
  };
  const onProgress = (event: ProgressEvent) => {
    const key = progressLabel(event);
    const t = now();
    const extra = [event.message, formatMetrics(event.metrics)].filter(Boolean).join(' ');
    if (event.status === 'start') {
      tasks.set(key, { startedAt: t, lastPrintAt: t, lastBucket: 0, finished: false });
      write(
        `[${key}] start${event.total !== undefined ? ` (${formatCount(event)})` : ''}${extra ? ` ${extra}` : ''}`,
      );
      return;
    }
    const state = stateOf(key, t);
    if (event.status === 'done') {
      if (state.finished) return;
      state.finished = true;
      write(
        `[${key}] done in ${formatDuration(t - state.startedAt)}: ${formatCount(event)}${extra ? ` ${extra}` : ''}`,
      );
      return;
    }
    const bucket = event.total ? Math.floor((10 * event.done) / event.total) : 0;
    if (bucket > state.lastBucket || t - state.lastPrintAt >= interval) {
      state.lastBucket = bucket;
      state.lastPrintAt = t;
      write(`[${key}] ${formatCount(event)}${extra ? ` ${extra}` : ''}`);
    }
  };
  return { onProgress, log: write, stop: () => undefined };
}

function createBarRenderer(stream: NodeJS.WriteStream): ProgressRenderer {
  const width = Math.max(60, stream.columns ?? 100);
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      linewrap: true,
      fps: 8,
      barsize: Math.min(30, Math.max(10, width - 80)),
      barCompleteChar: '█',
      barIncompleteChar: '░',
      format: (
        opts,
        params,
        payload: { label: string; unit: string; info: string; known: boolean },
      ) => {
        const bar = cliProgress.Format.BarFormat(payload.known ? params.progress : 0, opts);
        const count = payload.known
          ? `${compactNumber(params.value)}/${compactNumber(params.total)} ${payload.unit}`
          : `${compactNumber(params.value)} ${payload.unit}`;
        const pct = payload.known
          ? `${String(Math.floor(params.progress * 100)).padStart(3)}%`
          : '    ';
        const elapsed = formatDuration((params.stopTime ?? Date.now()) - params.startTime);
        return `${payload.label.padEnd(22)} ${bar} ${pct} ${count.padEnd(20)} ${elapsed.padStart(6)} ${payload.info}`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; finished: boolean }>();
  const payloadOf = (event: ProgressEvent, label: string) => ({
    label,
    unit: event.unit ?? '',
    known: event.total !== undefined && event.total > 0,
    info: [event.message, formatMetrics(event.metrics)].filter(Boolean).join(' '),
  });
  const onProgress = (event: ProgressEvent) => {
    const label = progressLabel(event);
    const total =
      event.total !== undefined && event.total > 0 ? event.total : Math.max(1, event.done);
    let entry = bars.get(label);
    if (!entry || event.status === 'start') {
      if (entry) multibar.remove(entry.bar);
      entry = { bar: multibar.create(total, event.done, payloadOf(event, label)), finished: false };
      bars.set(label, entry);
    }
    if (entry.finished) return;
    entry.bar.setTotal(total);
    entry.bar.update(event.done, payloadOf(event, label));
    if (event.status === 'done') {
      entry.finished = true;
      entry.bar.update(Math.max(event.done, event.total ?? event.done), payloadOf(event, label));
      entry.bar.stop();
    }
  };
  return {
    onProgress,
    log: (line) => multibar.log(`${line}\n`),
    stop: () => multibar.stop(),
  };
}
