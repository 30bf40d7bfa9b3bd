import { PassThrough } from 'node:stream';
import { progressReporter } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { createProgressRenderer } from './terminal-renderer.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  return { stream, text: () => text };
}

describe('plain progress renderer (not a TTY)', () => {
  it('prints start, every 10% or interval, and done, one line each', () => {
    const out = capture();
    let t = 0;
    const r = createProgressRenderer({
      stream: out.stream,
      tty: false,
      now: () => t,
      plainIntervalMs: 5000,
    });
    const p = progressReporter('embed', r.onProgress, { total: 100, unit: 'docs' });
    p.start();
    for (let i = 1; i <= 100; i++) {
      t += 10;
      p.update(i);
    }
    t = 2500;
    p.done({ metrics: { dimension: 64 } });
    r.stop();
    const lines = out.text().trimEnd().split('\n');
    expect(lines[0]).toBe('[embed] start (0/100 docs (0%))');
    // 10 buckets crossed: 10%, 20%, ..., 100%.
    expect(lines.slice(1, -1)).toEqual(
      Array.from({ length: 10 }, (_, i) => `[embed] ${(i + 1) * 10}/100 docs (${(i + 1) * 10}%)`),
    );
    expect(lines.at(-1)).toBe('[embed] done in 2.5s: 100/100 docs (100%) dimension=64');
  });

  it('keys lines by task, so parallel experts are told apart, and throttles by time', () => {
    const out = capture();
    let t = 0;
    const r = createProgressRenderer({
      stream: out.stream,
      tty: false,
      now: () => t,
      plainIntervalMs: 1000,
    });
    const a = progressReporter('train', r.onProgress, { task: 'expert-0', unit: 'tokens' });
    const b = progressReporter('train', r.onProgress, { task: 'expert-1', unit: 'tokens' });
    a.start();
    b.start();
    t = 500;
    a.update(100, { metrics: { loss: 7.25 } });
    t = 1200;
    a.update(200, { metrics: { loss: 6.5 } });
    b.update(300);
    a.done();
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toEqual([
      '[train expert-0] start',
      '[train expert-1] start',
      '[train expert-0] 200 tokens loss=6.50',
      '[train expert-1] 300 tokens',
      '[train expert-0] done in 1.2s: 200 tokens',
    ]);
  });

  it('logs lines as they are', () => {
    const out = capture();
    const r = createProgressRenderer({ stream: out.stream, tty: false });
    r.log('backend: wasm');
    expect(out.text()).toBe('backend: wasm\n');
  });
});

describe('bar renderer (TTY)', () => {
  it('draws one bar per stage and task with labels and counts', async () => {
    const out = capture();
    const stream = Object.assign(out.stream, {
      isTTY: true,
      columns: 120,
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
    });
    const r = createProgressRenderer({
      stream: stream as unknown as NodeJS.WriteStream,
      tty: true,
    });
    r.onProgress({
      stage: 'train',
      task: 'expert-0',
      status: 'start',
      done: 0,
      total: 1000,
      unit: 'tokens',
    });
    r.onProgress({
      stage: 'train',
      task: 'expert-1',
      status: 'start',
      done: 0,
      total: 1000,
      unit: 'tokens',
    });
    r.onProgress({
      stage: 'train',
      task: 'expert-0',
      status: 'progress',
      done: 500,
      total: 1000,
      unit: 'tokens',
      metrics: { loss: 5.5 },
    });
    r.onProgress({
      stage: 'train',
      task: 'expert-1',
      status: 'done',
      done: 1000,
      total: 1000,
      unit: 'tokens',
    });
    r.stop();
    const text = out.text();
    expect(text).toContain('train expert-0');
    expect(text).toContain('500/1000 tokens');
    expect(text).toContain('loss=5.50');
    expect(text).toContain('train expert-1');
    expect(text).toContain('1000/1000 tokens');
  });
});
