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

  it('comes first in the root font stack, before DejaVu Sans', () => {
    const stack = css.match(/:root\s*{[^}]*?font-family:([^;]+);/)![1];
    const names = stack.split(',').map((n) => n.trim().replace(/'/g, ''));
    expect(names[0]).toBe('Jeco Emoji');
    expect(names.indexOf('Jeco Emoji')).toBeLessThan(names.indexOf('DejaVu Sans'));
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
