// Syntax highlighting for fenced code blocks: highlight.js grammars through lowlight, which
// returns a syntax tree (hast) instead of an HTML string, so the code is rendered as React
// elements like the rest of a message. Loaded on demand (`import()` from `CodeBlock`): a chunk of
// its own that only conversations with code ever fetch. A handful of common languages keeps it
// small; others show unhighlighted.
import { createLowlight } from 'lowlight';
import type { Root } from 'hast';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const lowlight = createLowlight({
  bash,
  c,
  cpp,
  css,
  diff,
  go,
  java,
  javascript,
  json,
  python,
  rust,
  sql,
  typescript,
  xml,
  yaml,
});

/** Longer blocks are not highlighted (the grammars' regexes are not linear on every input). */
export const HIGHLIGHT_MAX_CHARS = 20_000;

/** Auto-detection below this relevance is a guess not worth colouring. */
const MIN_RELEVANCE = 5;

/** Trees of recent blocks: the timeline mounts a row again each time it scrolls back into view. */
const CACHE_SIZE = 100;
const cache = new Map<string, Root | null>();

/** The highlighted tree of `code` in `lang` (a fence's info string, e.g. `ts`), or detected when
 *  there is none; `null` when the language is unknown or the guess is weak. */
export function highlight(code: string, lang: string | undefined): Root | null {
  if (code.length > HIGHLIGHT_MAX_CHARS) return null;
  const key = `${lang ?? ''}\n${code}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const tree = highlightNow(code, lang);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, tree);
  return tree;
}

function highlightNow(code: string, lang: string | undefined): Root | null {
  const name = lang?.trim().split(/\s+/)[0]?.toLowerCase();
  try {
    if (name) return lowlight.registered(name) ? lowlight.highlight(name, code) : null;
    const tree = lowlight.highlightAuto(code);
    return (tree.data?.relevance ?? 0) >= MIN_RELEVANCE ? tree : null;
  } catch {
    return null;
  }
}
