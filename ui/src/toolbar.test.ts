import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A message's hover toolbar shows on hover and for keyboard focus only. It used to show for any
 * focus inside the message (`:focus-within`), so after a click on one of its buttons it stayed up
 * while the pointer hovered the next message: two toolbars at once.
 */
const css = readFileSync(join(import.meta.dirname, 'styles.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

describe('message toolbar', () => {
  const shows = [...css.matchAll(/([^{}]+)\{[^{}]*display:\s*flex[^{}]*\}/g)]
    .flatMap((m) => m[1].split(','))
    .map((s) => s.trim())
    .filter((s) => s.endsWith('.actions') && s.startsWith('.message'));

  it('shows on hover and on keyboard focus', () => {
    expect(shows).toContain('.message:hover .actions');
    expect(shows.some((s) => s.includes(':focus-visible'))).toBe(true);
  });

  it('does not stay up for focus a click left behind', () => {
    expect(shows.filter((s) => s.includes(':focus-within') || /:focus(\s|$|\))/.test(s))).toEqual([]);
  });
});
