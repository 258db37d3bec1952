// Inside plain runs of message text: `:shortcode:` emoji and `@mentions`.
import { EMOJI } from '../emoji';

const BY_NAME = new Map(EMOJI.map((e) => [e.name, e.emoji]));
// Common aliases of the composer's names.
BY_NAME.set('+1', '👍');
BY_NAME.set('-1', '👎');

/** `:smile:` → 😄 for the short names of the composer's emoji list; unknown names stay as typed. */
export function replaceShortcodes(text: string): string {
  if (!text.includes(':')) return text;
  return text.replace(/:([a-z0-9_+-]{1,40}):/g, (whole, name: string) => BY_NAME.get(name) ?? whole);
}

/** How a mentioned name concerns the reader: `me` (them, or everyone), `other`, or not a mention
 *  the server resolved (`null`). */
export type MentionKind = 'me' | 'other';
export type MentionOf = (name: string) => MentionKind | null;

export type Segment = { text: string; mention?: MentionKind };

const NAME_CHAR = /[A-Za-z0-9_.-]/;

/**
 * Splits text at `@name`s the way the server finds them: an `@` at the start or after a character
 * that cannot be part of a name (so e-mail addresses are not mentions), the name being the longest
 * run of name characters without trailing dots or dashes.
 */
export function splitMentions(text: string, mentionOf: MentionOf | undefined): Segment[] {
  if (!mentionOf || !text.includes('@')) return [{ text }];
  const out: Segment[] = [];
  let plainFrom = 0;
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    if (i > 0 && NAME_CHAR.test(text[i - 1])) continue;
    let end = i + 1;
    while (end < text.length && NAME_CHAR.test(text[end])) end++;
    while (end > i + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
    const name = text.slice(i + 1, end);
    const kind = name ? mentionOf(name.toLowerCase()) : null;
    if (!kind) continue;
    if (i > plainFrom) out.push({ text: text.slice(plainFrom, i) });
    out.push({ text: text.slice(i, end), mention: kind });
    plainFrom = end;
    i = end - 1;
  }
  if (plainFrom < text.length) out.push({ text: text.slice(plainFrom) });
  return out;
}
