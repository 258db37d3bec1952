// A message as plain text for previews (reply quotes, the pinned list, the notification panel,
// screen-reader labels): the Markdown markers stripped, not rendered; emoji shortcodes replaced;
// one line.
import { parseMessage, type Token } from './parse';
import { replaceShortcodes } from './inline';

function collect(tokens: Token[], out: string[]) {
  for (const t of tokens) {
    switch (t.type) {
      case 'space':
      case 'br':
        out.push(' ');
        break;
      case 'code':
      case 'codespan':
        out.push(' ', t.text, ' ');
        break;
      case 'text':
        if ('tokens' in t && t.tokens) collect(t.tokens, out);
        else out.push(replaceShortcodes(t.text));
        break;
      case 'escape':
        out.push(t.text);
        break;
      case 'list':
        for (const item of t.items) {
          collect(item.tokens, out);
          out.push(' ');
        }
        break;
      case 'checkbox':
        break;
      case 'image':
        out.push(t.text || t.href);
        break;
      default:
        if ('tokens' in t && t.tokens) {
          collect(t.tokens, out);
          if (t.type === 'paragraph' || t.type === 'blockquote') out.push(' ');
        } else {
          out.push(t.raw);
        }
    }
  }
}

/** `markdown` without its formatting, on one line (runs of white space become one space). */
export function plainText(markdown: string): string {
  const tokens = parseMessage(markdown);
  const out: string[] = [];
  if (tokens) collect(tokens, out);
  else out.push(replaceShortcodes(markdown));
  return out.join('').replace(/\s+/g, ' ').trim();
}

/** Markers stripped from a fragment of a message (a search snippet's parts, which cut the text
 *  anywhere, so cannot be parsed): emphasis, strike and code markers, quote and list starts. */
export function stripMarkers(fragment: string): string {
  return replaceShortcodes(
    fragment
      .replace(/\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*\)/g, '$1')
      .replace(/\*+(?=\S)|(?<=\S)\*+|~~|`+/g, '')
      .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1')
      .replace(/(^|\n)\s*(?:>\s*)+/g, '$1')
      .replace(/(^|\n)\s*(?:[-+]|\d{1,9}[.)])\s+/g, '$1'),
  );
}
