import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Emoji render in colour on a stock Debian/Ubuntu desktop: the page's font stack starts with a
 * face that maps only the emoji ranges to the platforms' colour emoji fonts, ahead of DejaVu Sans
 * (whose emoji are black outlines), and that face leaves ASCII (digits, '#', '*') to the text fonts.
 */
const css = readFileSync(join(import.meta.dirname, 'styles.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

describe('emoji font', () => {
  const face = css.match(/@font-face\s*{[^}]*font-family:\s*'Jeco Emoji'[^}]*}/)?.[0] ?? '';

  const stack = css
    .match(/:root\s*{[^}]*?font-family:([^;]+);/)![1]
    .split(',')
    .map((n) => n.trim().replace(/'/g, ''));

  it('comes first in the root font stack, before the text font', () => {
    expect(stack[0]).toBe('Jeco Emoji');
  });

  it('is followed by the platform font and nothing to look up on the way', () => {
    // Every family named before one that exists is a font lookup in the first layout (WebKitGTK:
    // ~20 ms each, ~125 ms for the list this replaced; BENCHMARKS.md "Start-up: the font stack").
    expect(stack).toEqual(['Jeco Emoji', 'system-ui', 'sans-serif']);
  });

  it('uses the colour emoji fonts of Linux, macOS and Windows', () => {
    for (const font of ['Noto Color Emoji', 'Apple Color Emoji', 'Segoe UI Emoji'])
      expect(face).toContain(`local('${font}')`);
  });

  it('covers the emoji blocks but no ASCII', () => {
    const ranges = [...face.matchAll(/U\+([0-9A-F]+)(?:-([0-9A-F]+))?/gi)].map((m) => [
      parseInt(m[1], 16),
      parseInt(m[2] ?? m[1], 16),
    ]);
    const covers = (cp: number) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
    for (const emoji of ['😀', '👍', '🎉', '❤', '✅', '🚀', '🧑'])
      expect(covers(emoji.codePointAt(0)!)).toBe(true);
    for (const ascii of '0123456789#* aZ') expect(covers(ascii.codePointAt(0)!)).toBe(false);
  });
});
