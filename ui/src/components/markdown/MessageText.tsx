import { memo, useMemo, type MouseEvent, type ReactNode } from 'react';
import { api } from '../../api';
import { CodeBlock } from './CodeBlock';
import { replaceShortcodes, splitMentions, type MentionOf } from './inline';
import { safeHref } from './links';
import { parseMessage, type Token, type Tokens } from './parse';

/**
 * Quotes and lists deeper than this are shown flat (their content kept, no further indent), so
 * 200 levels of `>` cannot push the text out of the window.
 */
export const MAX_NESTING = 6;

interface Ctx {
  mentionOf?: MentionOf;
}

/** A click opens the link in the system browser (the `open_link` command); the web view never
 *  navigates. Middle clicks are cancelled too. */
function openInBrowser(e: MouseEvent<HTMLAnchorElement>, href: string) {
  e.preventDefault();
  e.stopPropagation();
  if (e.type === 'click') {
    api.openLink(href).catch((err: unknown) => console.warn('open_link', err));
  }
}

function Link({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a
      href={href}
      className="md-link"
      rel="noreferrer noopener"
      title={href}
      onClick={(e) => openInBrowser(e, href)}
      onAuxClick={(e) => openInBrowser(e, href)}
    >
      {children}
    </a>
  );
}

function plainRun(text: string, ctx: Ctx, key: number): ReactNode {
  const segments = splitMentions(replaceShortcodes(text), ctx.mentionOf);
  if (segments.length === 1 && !segments[0].mention) return segments[0].text;
  return segments.map((s, i) =>
    s.mention ? (
      <span
        key={`${key}.${i}`}
        className={`mention${s.mention === 'me' ? ' mention-me' : ''}`}
        data-mention={s.mention}
      >
        {s.text}
      </span>
    ) : (
      s.text
    ),
  );
}

function inline(tokens: Token[] | undefined, ctx: Ctx): ReactNode[] {
  if (!tokens) return [];
  return tokens.map((t, i): ReactNode => {
    switch (t.type) {
      case 'text':
        return 'tokens' in t && t.tokens ? inline(t.tokens, ctx) : plainRun(t.text, ctx, i);
      case 'escape':
        return t.text;
      case 'strong':
        return <strong key={i}>{inline(t.tokens, ctx)}</strong>;
      case 'em':
        return <em key={i}>{inline(t.tokens, ctx)}</em>;
      case 'del':
        return <del key={i}>{inline(t.tokens, ctx)}</del>;
      case 'codespan':
        return (
          <code key={i} className="md-code">
            {t.text}
          </code>
        );
      case 'br':
        return <br key={i} />;
      case 'link': {
        const href = safeHref(t.href);
        // A link that may not be a link shows as typed.
        if (!href) return t.raw;
        return (
          <Link key={i} href={href}>
            {inline(t.tokens, ctx)}
          </Link>
        );
      }
      case 'image': {
        // Images are not loaded from message text; a safe one is a link to it.
        const href = safeHref(t.href);
        if (!href) return t.raw;
        return (
          <Link key={i} href={href}>
            {t.text || href}
          </Link>
        );
      }
      case 'checkbox':
        return (t as Tokens.Checkbox).checked ? '☑ ' : '☐ ';
      default:
        // Anything else (raw HTML cannot occur: its tokenizers are off) is shown as typed.
        return t.raw;
    }
  });
}

function blocks(tokens: Token[], ctx: Ctx, depth: number, trailing?: ReactNode): ReactNode[] {
  // The trailing mark ("(edited)") goes at the end of the last paragraph, or after the blocks.
  let lastParagraph = -1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    if (tokens[i].type === 'space') continue;
    if (tokens[i].type === 'paragraph') lastParagraph = i;
    break;
  }
  const out = tokens.map((t, i): ReactNode => {
    switch (t.type) {
      case 'space':
        return null;
      case 'paragraph':
        return (
          <p key={i}>
            {inline(t.tokens, ctx)}
            {i === lastParagraph && trailing}
          </p>
        );
      case 'text':
        return (
          <span key={i} className="md-text">
            {'tokens' in t && t.tokens ? inline(t.tokens, ctx) : plainRun(t.text, ctx, i)}
          </span>
        );
      case 'code':
        return <CodeBlock key={i} code={t.text} lang={t.lang} />;
      case 'blockquote': {
        const inner = blocks(t.tokens ?? [], ctx, depth + 1);
        return depth < MAX_NESTING ? <blockquote key={i}>{inner}</blockquote> : <div key={i}>{inner}</div>;
      }
      case 'list': {
        const list = t as Tokens.List;
        // Each item's blocks are rendered once (rendering them for both shapes would double the
        // work at every level: exponential in the depth).
        if (depth >= MAX_NESTING) {
          return (
            <div key={i}>
              {list.items.map((item, j) => (
                <div key={j}>{blocks(item.tokens, ctx, depth + 1)}</div>
              ))}
            </div>
          );
        }
        const items = list.items.map((item, j) => <li key={j}>{blocks(item.tokens, ctx, depth + 1)}</li>);
        return list.ordered ? (
          <ol key={i} start={typeof list.start === 'number' && list.start !== 1 ? list.start : undefined}>
            {items}
          </ol>
        ) : (
          <ul key={i}>{items}</ul>
        );
      }
      default:
        return <p key={i}>{t.raw}</p>;
    }
  });
  if (lastParagraph === -1 && trailing) out.push(<span key="trailing">{trailing}</span>);
  return out;
}

interface Props {
  text: string;
  /** Which `@name`s are mentions, and whether of the reader. */
  mentionOf?: MentionOf;
  /** Shown at the end of the text, e.g. "(edited)". */
  trailing?: ReactNode;
}

/**
 * A message's text with its Markdown rendered as React elements (see `parse.ts` for the subset).
 * No HTML from the text reaches the DOM as HTML; links open in the system browser; `@mentions` are
 * highlighted and `:shortcodes:` become emoji. A single paragraph renders without a wrapper, so a
 * plain message is a plain run of text. Too long or unparseable text shows as plain text.
 */
export const MessageText = memo(function MessageText({ text, mentionOf, trailing }: Props) {
  const tokens = useMemo(() => parseMessage(text), [text]);
  const ctx: Ctx = { mentionOf };
  if (!tokens) {
    return (
      <>
        {plainRun(text, ctx, 0)}
        {trailing}
      </>
    );
  }
  const content = tokens.filter((t) => t.type !== 'space');
  if (content.length === 1 && content[0].type === 'paragraph') {
    return (
      <>
        {inline(content[0].tokens, ctx)}
        {trailing}
      </>
    );
  }
  return <>{blocks(tokens, ctx, 0, trailing)}</>;
});
