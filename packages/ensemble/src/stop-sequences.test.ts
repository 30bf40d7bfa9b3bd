import { describe, expect, it } from 'vitest';
import { StopSequenceBuffer } from './stop-sequences.js';

function run(stops: string[], pieces: string[]): { out: string[]; stopped: boolean } {
  const buf = new StopSequenceBuffer<string>(stops);
  const out: string[] = [];
  for (const p of pieces) {
    const r = buf.push(p, p);
    out.push(...r.release);
    if (r.stopped) return { out, stopped: true };
  }
  out.push(...buf.flush());
  return { out, stopped: false };
}

describe('StopSequenceBuffer', () => {
  it('passes everything through without stop strings', () => {
    expect(run([], ['a', 'b'])).toEqual({ out: ['a', 'b'], stopped: false });
  });

  it('stops at a stop string spanning pieces and never releases it', () => {
    expect(run(['END'], ['hello ', 'E', 'N', 'D', 'more'])).toEqual({
      out: ['hello '],
      stopped: true,
    });
  });

  it('holds back a possible prefix, then releases it when it turns out not to be one', () => {
    const buf = new StopSequenceBuffer<string>(['\n\n']);
    expect(buf.push('a', 'a')).toEqual({ release: ['a'], stopped: false });
    expect(buf.push('\n', '\n')).toEqual({ release: [], stopped: false });
    expect(buf.push('b', 'b')).toEqual({ release: ['\n', 'b'], stopped: false });
    expect(buf.push('\n', '\n')).toEqual({ release: [], stopped: false });
    expect(buf.push('\n', '\n')).toEqual({ release: [], stopped: true });
  });

  it('drops the piece holding the start of the stop string, keeps those before', () => {
    expect(run(['stop'], ['go ', 'on st', 'op now'])).toEqual({ out: ['go '], stopped: true });
    expect(run(['x'], ['abc', 'dxe'])).toEqual({ out: ['abc'], stopped: true });
  });

  it('flushes held text when generation ends without a stop', () => {
    expect(run(['END'], ['a', 'EN'])).toEqual({ out: ['a', 'EN'], stopped: false });
  });
});
