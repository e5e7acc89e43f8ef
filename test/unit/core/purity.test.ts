/**
 * Layers point inward: core/ is pure domain logic. Its only non-relative
 * import is the `saxes` XML tokenizer (pure JavaScript, no I/O). This test
 * fails when anything in core/ imports node: modules, lmdb, piscina, etc.,
 * or when core imports from workers/ or integrations/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = resolve(import.meta.dirname, '../../../core');
const ALLOWED_PACKAGES = new Set(['saxes']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('core/ purity', () => {
  const sources = files(CORE);
  it('has sources', () => expect(sources.length).toBeGreaterThan(30));
  for (const file of sources) {
    it(relative(CORE, file), () => {
      const text = readFileSync(file, 'utf8');
      const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');
      for (const s of specifiers) {
        if (s.startsWith('.')) {
          const target = resolve(join(file, '..'), s);
          expect(target.startsWith(CORE), `${s} leaves core/`).toBe(true);
        } else {
          expect(ALLOWED_PACKAGES.has(s), `core imports ${s}`).toBe(true);
        }
      }
      // Globals that mean I/O or wall-clock time; comments are not code.
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
      expect(code).not.toMatch(/\b(process|require|Buffer|setTimeout|setInterval|Date\.now)\b\s*[.(]/);
    });
  }
});
