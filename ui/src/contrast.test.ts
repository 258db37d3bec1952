import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Readable contrast in both themes, checked on the style sheets themselves: every rule that sets
 * both a background (a colour, or each stop of a gradient) and a text colour (after the dark
 * theme's overrides and the theme variables are applied) reaches WCAG AA for normal text (4.5:1),
 * and so do the theme's own text
 * colours on its surfaces. A new rule with unreadable colours fails here before anyone sees it.
 */

/** Every style sheet under src/ (the test runs with CSS imports turned off, so read the files). */
function sheets(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sheets(join(dir, e.name))
      : e.name.endsWith('.css')
        ? [readFileSync(join(dir, e.name), 'utf8')]
        : [],
  );
}
const css = sheets(join(import.meta.dirname, '.'))
  .join('\n')
  .replace(/\/\*[\s\S]*?\*\//g, '');

const DARK = ":root[data-theme='dark']";

interface Rule {
  selector: string;
  props: Record<string, string>;
}

function rules(): Rule[] {
  const out: Rule[] = [];
  for (const m of css.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    const props: Record<string, string> = {};
    for (const d of m[2].matchAll(/([\w-]+)\s*:\s*([^;]+);?/g)) props[d[1]] = d[2].trim();
    for (const selector of m[1].split(','))
      out.push({ selector: selector.trim().replace(/\s+/g, ' '), props });
  }
  return out;
}

const all = rules();
const light = Object.fromEntries(
  Object.entries(all.find((r) => r.selector === ':root')!.props).filter(([k]) => k.startsWith('--')),
);
const dark = {
  ...light,
  ...Object.fromEntries(
    Object.entries(all.find((r) => r.selector === DARK)!.props).filter(([k]) => k.startsWith('--')),
  ),
};

function solid(value: string | undefined, vars: Record<string, string>): string | null {
  if (!value) return null;
  const v = value.trim();
  const ref = v.match(/^var\((--[\w-]+)\)$/);
  if (ref) return solid(vars[ref[1]], vars);
  if (v === 'white') return '#ffffff';
  return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(v) ? v : null;
}

function luminance(hex: string): number {
  let h = hex.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function ratio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Each selector's background and colour in a theme (the dark theme's overrides applied). */
/** Each selector's declarations in a theme: the dark theme's overrides laid over the base rules. */
function merged(theme: 'light' | 'dark'): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const r of all) {
    const isDark = r.selector.startsWith(`${DARK} `);
    if (isDark && theme === 'light') continue;
    const selector = isDark ? r.selector.slice(DARK.length + 1) : r.selector;
    out.set(selector, { ...out.get(selector), ...r.props });
  }
  return out;
}

function pairs(theme: 'light' | 'dark'): { selector: string; bg: string; fg: string }[] {
  const vars = theme === 'light' ? light : dark;
  const out = [];
  for (const [selector, props] of merged(theme)) {
    const background = props['background'] ?? props['background-color'];
    const fg = solid(props['color'], vars);
    if (!background || !fg) continue;
    // A gradient is checked at each of its colour stops.
    const stops = background.startsWith('linear-gradient(')
      ? [...background.matchAll(/var\(--[\w-]+\)|#[0-9a-f]{3,6}\b/gi)].map((m) => m[0])
      : [background];
    for (const stop of stops) {
      const bg = solid(stop, vars);
      if (bg) out.push({ selector, bg, fg });
    }
  }
  return out;
}

describe('contrast', () => {
  it.each(['light', 'dark'] as const)(
    'every rule with a background and a colour is readable (%s)',
    (theme) => {
      const rows = pairs(theme);
      expect(rows.length).toBeGreaterThan(10);
      const unreadable = rows
        .map((p) => ({ ...p, ratio: Math.round(ratio(p.bg, p.fg) * 100) / 100 }))
        .filter((p) => p.ratio < 4.5);
      expect(unreadable).toEqual([]);
    },
  );

  it.each(['light', 'dark'] as const)(
    "the theme's text colours are readable on its surfaces (%s)",
    (theme) => {
      const vars = theme === 'light' ? light : dark;
      const text = ['--text', '--muted', '--accent', '--danger'];
      const grounds = ['--bg', '--surface'];
      for (const t of text) {
        for (const g of grounds) {
          expect({ pair: `${t} on ${g}`, ok: ratio(vars[t], vars[g]) >= 4.5 }).toEqual({
            pair: `${t} on ${g}`,
            ok: true,
          });
        }
      }
      expect(ratio(vars['--on-accent'], vars['--accent-fill'])).toBeGreaterThanOrEqual(4.5);
      expect(ratio(vars['--text'], vars['--accent-soft'])).toBeGreaterThanOrEqual(4.5);
    },
  );
});

/**
 * Interaction states and highlights: a `:hover`, `:focus-visible`, `:active` or `:disabled` rule
 * usually sets only its background, and inherits the text colour from the rule it modifies (or
 * from the page). Dark theme once turned secondary buttons white on hover under near-white text,
 * and search matches (`mark`, `color: inherit`) white on pale yellow. So each state rule and each
 * `mark` is checked with its missing half filled in the way the browser would.
 */
const STATES = /:(hover|focus-visible|focus|active|disabled)\b|:not\([^)]*\)/g;

function statePairs(theme: 'light' | 'dark'): { selector: string; bg: string; fg: string }[] {
  const vars = theme === 'light' ? light : dark;
  const rules = merged(theme);
  const out = [];
  for (const [selector, props] of rules) {
    const isState = STATES.test(selector);
    STATES.lastIndex = 0;
    const isMark = /(^|\s)mark$/.test(selector);
    if (!isState && !isMark) continue;
    const base = rules.get(selector.replace(STATES, '').trim()) ?? {};
    const pick = (k: string) =>
      props[k] && props[k] !== 'inherit' ? props[k] : base[k] && base[k] !== 'inherit' ? base[k] : undefined;
    const background = pick('background') ?? pick('background-color');
    const bg = solid(background, vars);
    // Text colour: the state's, else the base rule's, else the page's.
    const fg = solid(pick('color') ?? 'var(--text)', vars);
    if (bg && fg) out.push({ selector, bg, fg });
  }
  return out;
}

describe('contrast of states and highlights', () => {
  it.each(['light', 'dark'] as const)(
    'hover, focus, active, disabled and mark stay readable (%s)',
    (theme) => {
      const rows = statePairs(theme);
      expect(rows.some((r) => r.selector.includes('mark'))).toBe(true);
      expect(rows.some((r) => r.selector.includes(':hover'))).toBe(true);
      const unreadable = rows
        .map((p) => ({ ...p, ratio: Math.round(ratio(p.bg, p.fg) * 100) / 100 }))
        .filter((p) => p.ratio < 4.5);
      expect(unreadable).toEqual([]);
    },
  );
});
