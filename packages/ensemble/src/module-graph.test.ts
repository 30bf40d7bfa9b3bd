import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The package's own module graph, read from the source: local imports (static, dynamic and
// type-only alike) and node: built-ins.
const dir = new URL('.', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
const graph = new Map<string, { local: string[]; builtins: string[] }>();
for (const file of files) {
  const text = readFileSync(join(dir, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\(?)\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  graph.set(file, {
    local: specs.filter((s) => s.startsWith('./')).map((s) => s.slice(2).replace(/\.js$/, '.ts')),
    builtins: specs.filter((s) => s.startsWith('node:')),
  });
}

/** Every file reachable from `entry`, entry included. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(graph.get(f)?.local ?? []));
  }
  return seen;
}

describe('the module graph of @cbtm/ensemble', () => {
  it('reads every local import it finds', () => {
    expect(graph.get('index.ts')!.local).toContain('ensemble.ts');
    expect(graph.get('load-run.ts')!.builtins).toContain('node:path');
    for (const { local } of graph.values()) for (const f of local) expect(files).toContain(f);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    for (const f of files) {
      for (const dep of graph.get(f)!.local)
        if (reachable(dep).has(f)) cycles.push(`${f} ↔ ${dep}`);
    }
    expect(cycles).toEqual([]);
  });

  it('keeps the main entry free of node: modules; the node entry has them', () => {
    const pure = [...reachable('index.ts')].filter((f) => graph.get(f)!.builtins.length > 0);
    expect(pure).toEqual([]);
    expect([...reachable('node.ts')].some((f) => graph.get(f)!.builtins.length > 0)).toBe(true);
  });
});
