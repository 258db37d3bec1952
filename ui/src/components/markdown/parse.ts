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
 * Longer texts are shown as plain text. The server's default limit is 4,000 characters; marked's
 * emphasis matching can be quadratic on hostile runs of delimiters (`**a` × 30,000 takes
 * seconds), and this bound keeps the worst case to tens of milliseconds.
 */
export const MARKDOWN_MAX_CHARS = 10_000;

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
  if (text.length > MARKDOWN_MAX_CHARS) return null;
  try {
    return marked.lexer(text);
  } catch {
    // Deep enough nesting can exhaust the stack; the text is still worth showing.
    return null;
  }
}
