import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));

// Native libraries that only transformers.js pulls in.
function nativeLibsAfter(script: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `${script}
       const libs = process.report.getReport().sharedObjects.filter((s) => /onnxruntime|sharp|vips/.test(s));
       console.log(JSON.stringify(libs));`,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

describe('package entry', () => {
  it('does not load transformers.js (onnxruntime, sharp) until a TransformersEmbedder is created', () => {
    expect(existsSync(dist), 'build the package first (npx tsc -b)').toBe(true);
    const url = pathToFileURL(dist).href;
    expect(
      nativeLibsAfter(
        `const m = await import(${JSON.stringify(url)}); await m.TfidfSvdEmbedder.fit(['a cat sat', 'a dog ran', 'cats and dogs'], { nComponents: 2 });`,
      ),
    ).toEqual([]);
    // The probe can see the libraries when they are loaded.
    expect(nativeLibsAfter(`await import('@huggingface/transformers');`).length).toBeGreaterThan(0);
  });
});
