// The Markdown subset of messages, parsed by marked's lexer into tokens that `MessageText`
// renders as React elements (never as HTML strings).
//
// Chat Markdown, not documents: **bold**, *italic*, ~~strike~~, `code`, fenced code blocks,
// > quotes, lists, links and bare URLs; a single newline is a line break. Headings, rules, tables,
// indented code, link definitions and raw HTML are turned off, so `# 1`, `---`, four leading spaces
// or `<b>` show as typed.
import { Marked, type Token, type Tokens } from 'marked';

export type { Token, Tokens };

/**
 * Longer texts are shown as plain text (the server's default limit is 4,000 characters).
 */
export const MARKDOWN_MAX_CHARS = 10_000;

/**
 * So are texts with more `*` and `_` than this: marked's emphasis matching is quadratic in the
 * number of delimiters that cannot close (`__a` × 3,333 takes half a second, `**a` × 30,000
 * seconds); this bound keeps the worst case to tens of milliseconds. Real messages stay far
 * below it.
 */
export const MARKDOWN_MAX_DELIMITERS = 1_000;

/** Quote markers beyond this depth are dropped before parsing: marked nests quotes by recursion,
 *  and a line of 2,000 `>` would exhaust the stack (they are shown flat beyond 6 levels anyway). */
const QUOTE_DEPTH_MAX = 32;
const DEEP_QUOTE = new RegExp(`^((?:[ \\t]*>){${QUOTE_DEPTH_MAX}})(?:[ \\t]*>)+`, 'gm');

/** The same texts come back as the timeline scrolls (rows are unmounted and mounted again). */
const CACHE_SIZE = 500;
const cache = new Map<string, Token[] | null>();

function delimiters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 42 /* * */ || c === 95 /* _ */) n++;
  }
  return n;
}

const off = () => undefined;

const marked = new Marked({ gfm: true, breaks: true });
// A tokenizer that returns `undefined` does not match (marked's documented way to turn one off;
// `false` would fall back to the built-in one).
marked.use({
  tokenizer: {
    heading: off,
    lheading: off,
    hr: off,
    table: off,
    code: off,
    def: off,
    html: off,
    tag: off,
  },
});

/** The tokens of a message, or `null` when it is to be shown as plain text (too long, or the
 *  parser gave up on it). */
export function parseMessage(text: string): Token[] | null {
  if (text.length > MARKDOWN_MAX_CHARS || delimiters(text) > MARKDOWN_MAX_DELIMITERS) return null;
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  let tokens: Token[] | null;
  try {
    tokens = marked.lexer(text.replace(DEEP_QUOTE, '$1'));
  } catch {
    // Should the parser still give up (its stack, say), the text is worth showing as typed.
    tokens = null;
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(text, tokens);
  return tokens;
}
