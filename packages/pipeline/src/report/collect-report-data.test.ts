import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAssignments } from './collect-report-data.js';

describe('readAssignments', () => {
  it('reads the training documents’ clusters in order and leaves the hold-out out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-report-'));
    try {
      const file = join(dir, 'assignments.jsonl');
      await writeFile(
        file,
        [
          '{"id":"a","cluster":2}',
          '{"id":"b","cluster":0}',
          '',
          '{"id":"c","cluster":1}',
          '{"id":"v1","cluster":0,"heldOut":true}',
          '{"id":"v2","cluster":2,"heldOut":true}',
        ].join('\n'),
      );
      // The map pairs these with the embeddings' rows, so the hold-out must not be counted.
      expect(Array.from(await readAssignments(file))).toEqual([2, 0, 1]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
